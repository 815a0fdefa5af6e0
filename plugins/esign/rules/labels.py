"""A rule firing's recorded detail in the reader's language.

The event log keeps what the engine wrote (``regra NAME (TRIGGER): note; note``, the notes in English, as the
logs and ``esign rules explain`` show them); the register's trail and the certificate read it back here, the
trigger and each note translated, anything unknown (an older wording, a failure's text) kept as it was.
"""

from __future__ import annotations

import re

from esign.i18n import N_, Translator

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

#: The notes ``esign.rules.actions.run_action`` returns, and what they say to a person.
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
