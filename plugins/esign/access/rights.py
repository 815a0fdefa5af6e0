"""Rights, access levels and the default roles, as plain data (Bitrix24's permission model, for batches).

Why levels are ordered integers: a user with several roles gets, per right, the widest level of any of them,
and "widest" is then just ``max``.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from esign.errors import ConfigError
from esign.i18n import N_


class Right(StrEnum):
    DOCUMENTS_VIEW = "documents.view"
    DOCUMENTS_CREATE = "documents.create"
    DOCUMENTS_EDIT = "documents.edit"
    DOCUMENTS_SEND = "documents.send"
    DOCUMENTS_RESEND = "documents.resend"
    DOCUMENTS_CANCEL = "documents.cancel"
    DOCUMENTS_DELETE = "documents.delete"
    COMPANY_SIGN = "company.sign"  # approve a batch / sign for the company
    TEMPLATES_MANAGE = "templates.manage"
    PARTIES_VIEW = "parties.view"  # the signing parties' (contacts') data
    REPORTS_VIEW = "reports.view"
    SETTINGS_MANAGE = "settings.manage"  # the permission settings themselves


#: What each right lets a person do, as the register names it when it refuses an action.
RIGHT_LABELS: dict[Right, str] = {
    Right.DOCUMENTS_VIEW: N_("view documents"),
    Right.DOCUMENTS_CREATE: N_("create documents"),
    Right.DOCUMENTS_EDIT: N_("change documents (extend links)"),
    Right.DOCUMENTS_SEND: N_("send documents"),
    Right.DOCUMENTS_RESEND: N_("resend signing links"),
    Right.DOCUMENTS_CANCEL: N_("cancel documents"),
    Right.DOCUMENTS_DELETE: N_("delete documents"),
    Right.COMPANY_SIGN: N_("sign for the company"),
    Right.TEMPLATES_MANAGE: N_("manage templates"),
    Right.PARTIES_VIEW: N_("see the parties' data (CPF/CNPJ, contacts)"),
    Right.REPORTS_VIEW: N_("read reports"),
    Right.SETTINGS_MANAGE: N_("manage permissions"),
}


class Level(IntEnum):
    """Whose deals a right reaches. ``OWN``: deals the user is responsible manager of."""

    NONE = 0
    OWN = 1
    DEPARTMENT = 2  # own + the user's department
    SUBDEPARTMENTS = 3  # own + department + every department below it
    ALL = 4

    @classmethod
    def parse(cls, text: str) -> Level:
        """``own``, ``department`` (or ``own+department``), ``subdepartments`` (``sub-departments``), ``all``."""
        key = "".join(ch for ch in text.lower() if ch.isalpha())
        key = {"owndepartment": "department", "departmentsubdepartments": "subdepartments"}.get(key, key)
        for level in cls:
            if level.name.lower().replace("_", "") == key:
                return level
        names = ", ".join(level.name.lower() for level in cls)
        raise ConfigError(f"unknown access level {text!r} (expected one of {names})")


def parse_right(text: str) -> Right:
    try:
        return Right(text.strip())
    except ValueError:
        raise ConfigError(f"unknown right {text!r} (expected one of {', '.join(r.value for r in Right)})") from None


_DOCS = (Right.DOCUMENTS_VIEW, Right.DOCUMENTS_CREATE, Right.DOCUMENTS_EDIT, Right.DOCUMENTS_SEND,
         Right.DOCUMENTS_RESEND, Right.DOCUMENTS_CANCEL)


def _grant(rights: tuple[Right, ...], level: Level) -> dict[Right, Level]:
    return dict.fromkeys(rights, level)


#: Roles created by ``esign roles init`` (and on first use). Employee and Supervisor mirror Bitrix24's defaults;
#: Director is the company signer; Admin manages everything; Analyst reads reports.
DEFAULT_ROLES: dict[str, dict[Right, Level]] = {
    "Employee": {**_grant(_DOCS, Level.OWN), Right.PARTIES_VIEW: Level.OWN},
    "Supervisor": {**_grant((*_DOCS, Right.DOCUMENTS_DELETE, Right.PARTIES_VIEW), Level.SUBDEPARTMENTS),
                   Right.REPORTS_VIEW: Level.SUBDEPARTMENTS},
    "Director": {**_grant((*_DOCS, Right.PARTIES_VIEW, Right.REPORTS_VIEW), Level.ALL),
                 Right.COMPANY_SIGN: Level.ALL},
    "Admin": {**_grant(tuple(r for r in Right if r is not Right.COMPANY_SIGN), Level.ALL)},
    "Analyst": {Right.REPORTS_VIEW: Level.ALL, Right.DOCUMENTS_VIEW: Level.ALL},
}
