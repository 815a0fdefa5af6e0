"""Validation problems and event details as a person reads them, in the reader's language.

A quarantine reason is stored as English text (``field: reason; field: reason``) so logs, JSON and the ledger stay
one language; :func:`describe_reason` turns such a stored text back into the reader's language (every reason the
validator writes is a known message id; anything else, say a CRM's own problem, is shown as it is).
:func:`describe_detail` does the same for the details the event log records (``signed by ...``, ``sealed``),
including the ones earlier versions recorded in Portuguese, and a rule firing's (:func:`describe_firing`: the
engine writes ``regra NAME (TRIGGER): note; note`` with the notes in English, as the logs and ``esign rules
explain`` show them; the trigger and each note are translated, anything unknown kept as it was).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from functools import cache

from esign import contacts, validate
from esign.errors import ValidationError
from esign.i18n import N_, Translator

FIELD_LABELS: dict[str, str] = {
    "id": N_("Deal ID"),
    "title": N_("Deal title"),
    "amount": N_("Amount"),
    "currency": N_("Currency"),
    "counterparty": N_("Client"),
    "counterparty.name": N_("Client's name"),
    "counterparty.tax_id": N_("Client's CPF/CNPJ"),
    "counterparty.address": N_("Client's address"),
    "counterparty.representative": N_("Client's representative"),
    "counterparty.representative_title": N_("Representative's title"),
    "counterparty.email": N_("Client's e-mail"),
    "counterparty.phone": N_("Client's phone"),
    "company.name": N_("Company name"),
    "company.tax_id": N_("Company CNPJ"),
    "company.address": N_("Company address"),
    "company.email": N_("Company e-mail"),
    "company.phone": N_("Company phone"),
}
ITEM_FIELDS: dict[str, str] = {
    "description": N_("description"),
    "quantity": N_("quantity"),
    "unit_price": N_("unit price"),
}
SIGNER_FIELDS: dict[str, str] = {
    "name": N_("name"),
    "tax_id": N_("CPF"),
    "email": N_("e-mail"),
    "phone": N_("phone"),
    "role": N_("role"),
}
SIGNER = N_("Signer %(number)s, %(field)s")
ITEM = N_("Item %(number)s, %(field)s")
EXTRA = N_("Field “%(name)s”")
FIELD_AND_REASON = N_("%(field)s: %(reason)s")

#: Every reason the validator writes, so a stored English text can be read back.
KNOWN_REASONS: tuple[str, ...] = (
    validate.MISSING, validate.NOT_TEXT, validate.TOO_LONG, validate.NOT_A_NUMBER, validate.NOT_POSITIVE,
    validate.NEGATIVE, validate.LARGER_THAN, validate.LINE_TOTAL_TOO_LARGE, validate.NOT_ISO_4217,
    validate.CPF_DIGITS, validate.CNPJ_FORMAT, validate.CNPJ_DIGITS, validate.TAX_ID_LENGTH, validate.NO_CONTACT,
    validate.NO_SIGNER_CONTACT, validate.NOT_A_CPF, validate.SAME_AS_SIGNER, validate.UNKNOWN_ROLE,
    contacts.EMAIL_TOO_LONG, contacts.EMAIL_INVALID, contacts.PHONE_INVALID, contacts.PHONE_LANDLINE,
)
_ITEM_FIELD = re.compile(r"line_items\[(\d+)\]\.(\w+)")
_SIGNER_FIELD = re.compile(r"signers\[(\d+)\]\.(\w+)")
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+|\d+")


def field_label(field: str, t: Translator) -> str:
    """``counterparty.phone`` -> "Telefone do cliente"; ``line_items[0].quantity`` -> "Item 1, quantidade"."""
    if field in FIELD_LABELS:
        return t.gettext(FIELD_LABELS[field])
    if (match := _ITEM_FIELD.fullmatch(field)) is not None:
        part = ITEM_FIELDS.get(match.group(2))
        return t.gettext(ITEM) % {"number": t.format_number(int(match.group(1)) + 1),
                                  "field": t.gettext(part) if part else match.group(2)}
    if (match := _SIGNER_FIELD.fullmatch(field)) is not None:  # positions are 1-based already
        part = SIGNER_FIELDS.get(match.group(2))
        return t.gettext(SIGNER) % {"number": t.format_number(int(match.group(1))),
                                    "field": t.gettext(part) if part else match.group(2)}
    if field.startswith("extra."):
        return t.gettext(EXTRA) % {"name": field.removeprefix("extra.")}
    return field


def _shown(value: object, t: Translator) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | Decimal):
        return t.format_number(value)
    return str(value)


def describe_error(error: ValidationError, t: Translator) -> str:
    """``<field label>: <reason>`` of a validation error in ``t``'s language (a field or reason the catalogue lacks
    stays as is)."""
    return describe_problem(error.field, error.msgid, error.params, t)


def describe_problem(field: str, msgid: str, params: Mapping[str, object], t: Translator) -> str:
    """One problem in the reader's language."""
    reason = t.gettext(msgid)
    if params:
        reason = reason % {k: _shown(v, t) for k, v in params.items()}
    return t.gettext(FIELD_AND_REASON) % {"field": field_label(field, t), "reason": reason}


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    found = []
    for msgid in KNOWN_REASONS:
        pieces = _PLACEHOLDER.split(msgid)  # text, name, text, name, ..., text
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(pieces))
        found.append((re.compile(regex), msgid))
    return tuple(found)


def _read_back(value: str) -> object:
    """A parameter read from English text: a number (``1,000,000``) becomes one again, to be shown the reader's way."""
    return int(value.replace(",", "")) if _NUMBER.fullmatch(value) else value


def describe_reason(stored: str, t: Translator) -> str:
    """A stored quarantine reason (``field: reason; ...``, English) in the reader's language, part by part."""
    shown = []
    for part in stored.split("; "):
        field, sep, english = part.partition(": ")
        described = None
        if sep:
            for pattern, msgid in _patterns():
                if (match := pattern.fullmatch(english)) is not None:
                    params = {k: _read_back(v) for k, v in match.groupdict().items()}
                    described = describe_problem(field, msgid, params, t)
                    break
        shown.append(described if described is not None else part)
    return "; ".join(shown)


#: What the event log records as a detail, as a pattern (English, or Portuguese as earlier versions wrote it) and
#: the message it stands for.
DETAILS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?:signed by|assinado por) (?P<name>.+?) \(com assinatura desenhada\)"),
     N_("signed by %(name)s (with a drawn signature)")),
    (re.compile(r"(?:signed by|assinado por) (?P<name>.+)"), N_("signed by %(name)s")),
    (re.compile(r"sealed"), N_("sealed")),
    (re.compile(r"enviado|sent"), N_("sent")),
    (re.compile(r"envio incerto \(falha durante o envio\); lembretes cobrem"),
     N_("delivery uncertain (a failure while sending); the reminders cover it")),
    (re.compile(r"link expirado|link expired"), N_("link expired")),
    (re.compile(r"reconciliado|reconciled"), N_("recovered after an interruption")),
    (re.compile(r"sha256 (?P<hash>[0-9a-f]{64})"), N_("SHA-256 %(hash)s")),
    (re.compile(r"outbox (?P<id>\d+)"), N_("message %(id)s")),
    (re.compile(r"código #(?P<number>\d+) para (?P<destination>.+)"), N_("code #%(number)s to %(destination)s")),
    (re.compile(r"code #(?P<number>\d+) to (?P<destination>.+)"), N_("code #%(number)s to %(destination)s")),
    (re.compile(r"tentativa (?P<number>\d+) de (?P<max>\d+)"), N_("attempt %(number)s of %(max)s")),
    (re.compile(r"attempt (?P<number>\d+) of (?P<max>\d+)"), N_("attempt %(number)s of %(max)s")),
    (re.compile(r"the deal left the trigger stage before its document was sent"),
     N_("the deal left the trigger stage before its document was sent")),
)


#: An operator's extension of a link: ``+10 → 2026-12-29T01:17:23+00:00`` (days added, the new expiry in UTC).
_EXTENDED = re.compile(r"\+(?P<days>\d+) → (?P<until>\d{4}-\d{2}-\d{2}T\S+)")


def describe_detail(detail: str, t: Translator) -> str:
    """An event's detail in the reader's language; one nobody wrote a message for (a person's own words, a
    document's reason) is read as a stored reason, so what the validator wrote is translated and the rest kept."""
    text = detail.strip()
    if (fired := describe_firing(text, t)) is not None:
        return fired
    if (extended := _EXTENDED.fullmatch(text)) is not None:
        try:
            until = datetime.fromisoformat(extended["until"])
        except ValueError:
            return text
        days = int(extended["days"])
        return t.ngettext("+%(days)s day: valid until %(until)s", "+%(days)s days: valid until %(until)s", days) % {
            "days": days, "until": t.format_datetime(until)}
    for pattern, msgid in DETAILS:
        if (match := pattern.fullmatch(text)) is not None:
            return t.gettext(msgid) % match.groupdict() if match.groupdict() else t.gettext(msgid)
    return describe_reason(text, t)


_FIRED = re.compile(r"(?:regra|rule) (?P<name>\S+) \((?P<trigger>\w+)\): (?P<notes>.*)", re.DOTALL)

TRIGGER_LABELS = {
    "deal_enters_stage": N_("the deal entered a stage"),
    "company_signed": N_("signed by the company"),
    "client_signed": N_("signed by the client"),
    "all_signed": N_("signed by all parties"),
    "declined": N_("declined by the client"),
    "expired": N_("link expired"),
    "no_response": N_("no answer from the client"),
}

#: The notes ``esign.rules.actions.run_action`` returns (a rule firing's), and what they say to a person.
NOTES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"deal moved to (?P<stage>\S+)"), N_("deal moved to %(stage)s")),
    (re.compile(r"comment added"), N_("comment added to the deal")),
    (re.compile(r"task added \(as a timeline comment\)"), N_("task added (as a comment on the deal)")),
    (re.compile(r"deal queued for esign_send in (?P<stage>\S+)"),
     N_("deal moved to %(stage)s for the next sending run")),
    (re.compile(r"reminder queued \(outbox (?P<id>\d+)\)"), N_("reminder queued (message %(id)s)")),
    (re.compile(r"manager emailed \(outbox (?P<id>\d+)\)"), N_("responsible manager e-mailed (message %(id)s)")),
)


def describe_firing(detail: str, t: Translator) -> str | None:
    """``detail`` of a ``rule_fired`` event in ``t``'s language; None when it is not a firing's detail."""
    match = _FIRED.fullmatch(detail.strip())
    if match is None:
        return None
    trigger = TRIGGER_LABELS.get(match["trigger"])
    notes = [_note(note, t) for note in match["notes"].split("; ") if note]
    return t.gettext("rule %(name)s (%(trigger)s): %(notes)s") % {
        "name": match["name"], "trigger": t.gettext(trigger) if trigger else match["trigger"],
        "notes": "; ".join(notes)}


def _note(note: str, t: Translator) -> str:
    for pattern, msgid in NOTES:
        if (found := pattern.fullmatch(note)) is not None:
            return t.gettext(msgid) % found.groupdict() if found.groupdict() else t.gettext(msgid)
    return note
