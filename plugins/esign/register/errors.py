"""Why the register refused something, as a message id with parameters, translated only where it is shown.

The English text (the msgid filled in) is the exception's ``str`` for logs and the CLI; a page shows
:meth:`ActionError.translated` in its reader's language, with stages and times written the reader's way.
"""

from __future__ import annotations

from datetime import datetime

from esign.access import RIGHT_LABELS, AccessDeniedError
from esign.errors import EsignError
from esign.i18n import N_, Translator
from esign.model import Stage
from esign.model.labels import stage_label

UNKNOWN_DOCUMENT = N_("Document %(id)s does not exist.")
NOT_CANCELABLE = N_("Document %(id)s is “%(stage)s”: only a document the client has not signed yet can be canceled.")
NOT_WAITING = N_("Document %(id)s is “%(stage)s”: only a document waiting for the client's signature can be "
                 "resent.")
NO_LINK = N_("Document %(id)s has no open signing link.")
LINK_EXPIRED = N_("The signing link of document %(id)s expired on %(when)s: extend it first.")
RESEND_LIMIT = N_("Document %(id)s was already resent %(count)s times in 24 hours; it can be resent again from "
                  "%(when)s.")
NOT_EXTENDABLE = N_("Document %(id)s is “%(stage)s”: there is no open link to extend.")
BAD_DAYS = N_("Extend by 1 to %(max)s days, not “%(days)s”.")
NOT_COMPLETED = N_("Document %(id)s is “%(stage)s”: only a completed document has the final signed PDF.")
NO_VERSION = N_("Document %(id)s has no file “%(kind)s”.")
FILE_MISSING = N_("The file “%(kind)s” of document %(id)s is missing from the storage.")
CHANGED = N_("Document %(id)s changed meanwhile (it is now “%(stage)s”); nothing was done.")
NOTHING_TO_WRITE_BACK = N_("Document %(id)s has nothing left to write back to the CRM.")
NOTHING_SELECTED = N_("Select at least one document.")
TOO_MANY = N_("Select at most %(max)s documents at a time.")
UNKNOWN_ACTION = N_("Unknown action “%(action)s”.")
FORM_TOO_LARGE = N_("The form is too large.")
FORM_EXPIRED = N_("The page expired for your safety; reload it and try again.")
DENIED = N_("Your profile does not allow this on this document (it lacks the right to %(right)s).")
DENIED_GENERIC = N_("Your profile does not allow this.")


class Msg(str):
    """A parameter that is itself a msgid (a label): translated when the message is shown."""


class ActionError(EsignError):
    """The action does not fit the document's state (canceling a completed document, ...)."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % {k: _english(v) for k, v in params.items()})
        self.message = message
        self.params = params

    def translated(self, t: Translator) -> str:
        return t.gettext(self.message) % {k: shown(t, v) for k, v in self.params.items()}


def _english(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    return str(value)


def shown(t: Translator, value: object) -> str:
    """A parameter as its reader reads it: a stage by its label, a moment in the company's zone."""
    if isinstance(value, Stage):
        return stage_label(value, t)
    if isinstance(value, Msg):
        return t.gettext(value)
    if isinstance(value, datetime):
        return t.format_datetime(value)
    return str(value)


def denial(t: Translator, exc: AccessDeniedError) -> str:
    """An access refusal in the reader's language, naming what the missing right would allow."""
    if exc.right is None:
        return t.gettext(DENIED_GENERIC)
    return t.gettext(DENIED) % {"right": t.gettext(RIGHT_LABELS[exc.right])}


def reason_of(t: Translator, exc: EsignError) -> str:
    """Any refusal of the register's actions in the reader's language; an untyped one keeps its own text after
    a translated lead, so nothing is hidden."""
    if isinstance(exc, ActionError):
        return exc.translated(t)
    if isinstance(exc, AccessDeniedError):
        return denial(t, exc)
    return t.gettext("Refused by the system: %(detail)s") % {"detail": str(exc)}
