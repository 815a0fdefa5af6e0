"""One reading of a client's contact data, shared by validation, dispatch and the portal.

Why one module: validation and dispatch used to disagree (validation refused "11987654321", dispatch sent to it),
so a deal was quarantined for a number the SMS channel would have used. Phone numbers go through ``phonenumbers``
(national Brazilian formats accepted, E.164 stored); e-mail addresses through one format check (no DNS lookups,
on purpose). A problem is a message id with parameters (:class:`Problem`), English in logs and JSON, translated
where a person reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from esign.i18n import N_

if TYPE_CHECKING:
    from esign.i18n import Translator

#: Numbers without a country code are read as Brazilian: the clients are.
DEFAULT_REGION = "BR"
MAX_EMAIL = 254
MAX_PHONE = 40

EMAIL_TOO_LONG = N_("longer than %(max)s characters")
EMAIL_INVALID = N_("invalid format")
PHONE_INVALID = N_("not a valid phone number (expected e.g. (11) 98765-4321 or +55 11 98765-4321)")
PHONE_LANDLINE = N_("a landline number: it cannot receive the code by SMS")

_EMAIL = re.compile(
    r"(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59}))"
)
_SEPARATORS = re.compile(r"[\s().\-/]")


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a contact cannot be used: a msgid (English, ``%(name)s`` placeholders) and its parameters."""

    msgid: str
    params: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.msgid % self.params if self.params else self.msgid

    def describe(self, t: Translator) -> str:
        """The reason in the reader's language."""
        text = t.gettext(self.msgid)
        return text % {k: t.format_number(v) if isinstance(v, int) else str(v) for k, v in self.params.items()} \
            if self.params else text


# -- e-mail -------------------------------------------------------------------------------------------------
def email_problem(email: str) -> Problem | None:
    """None when the address has a plausible ``local@domain.tld`` format (spaces around it ignored)."""
    email = (email or "").strip()
    if len(email) > MAX_EMAIL:
        return Problem(EMAIL_TOO_LONG, {"max": MAX_EMAIL})
    match = _EMAIL.fullmatch(email)
    if match is None or len(match.group("local")) > 64:
        return Problem(EMAIL_INVALID)
    return None


def normalize_email(email: str) -> str | None:
    """The address as stored and used (trimmed, the domain in lower case), or None when it is not usable."""
    email = (email or "").strip()
    if email_problem(email) is not None:
        return None
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


# -- phone --------------------------------------------------------------------------------------------------
def _parse(phone: str, region: str) -> phonenumbers.PhoneNumber | None:
    raw = _SEPARATORS.sub("", (phone or "").strip())
    if not raw or len(raw) > MAX_PHONE:
        return None
    candidates = [raw]
    if raw.startswith("00"):  # the international prefix written as digits: 0055 11 ...
        candidates.insert(0, "+" + raw[2:])
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return number
    return None


def normalize_phone(phone: str, region: str = DEFAULT_REGION) -> str | None:
    """The number in E.164 (``+5511987654321``), or None when it is not a valid number.

    National Brazilian formats are accepted: ``11987654321``, ``(11) 98765-4321``, ``+55 11 98765-4321``,
    ``0055 11 98765 4321``, a carrier prefix (``021 11 ...``).
    """
    number = _parse(phone, region)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164) if number is not None else None


def phone_problem(phone: str, region: str = DEFAULT_REGION) -> Problem | None:
    """None when the number can receive an SMS; a landline is a number, but not one a code can be sent to."""
    number = _parse(phone, region)
    if number is None:
        return Problem(PHONE_INVALID)
    if phonenumbers.number_type(number) == PhoneNumberType.FIXED_LINE:
        return Problem(PHONE_LANDLINE)
    return None


def sms_number(phone: str, region: str = DEFAULT_REGION) -> str | None:
    """The E.164 number to send an SMS to, or None (invalid, or a landline)."""
    return normalize_phone(phone, region) if phone_problem(phone, region) is None else None


__all__ = [
    "EMAIL_INVALID",
    "EMAIL_TOO_LONG",
    "PHONE_INVALID",
    "PHONE_LANDLINE",
    "Problem",
    "email_problem",
    "normalize_email",
    "normalize_phone",
    "phone_problem",
    "sms_number",
]
