"""How a person reads the stage machine and the event log: one label per stage, event action and system actor.

Kept beside :mod:`esign.model.stages` so that every surface (staff register, certificate of completion, reports,
CRM comments) shows the same words. The labels are English msgids marked with ``N_``; a surface translates them
where it shows them, with its reader's translator: ``t.gettext(STAGE_LABELS[stage])`` or :func:`stage_label`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from esign.i18n import N_
from esign.model.stages import Stage

Gettext = Callable[[str], str]

STAGE_LABELS: dict[Stage, str] = {
    Stage.DRAFT: N_("Draft"),
    Stage.COMPANY_SIGNED: N_("Signed by the company"),
    Stage.SENT: N_("Sent to the client"),
    Stage.VIEWED: N_("Viewed by the client"),
    Stage.CLIENT_SIGNED: N_("Signed by the client"),
    Stage.COMPLETED: N_("Completed"),
    Stage.DECLINED: N_("Declined"),
    Stage.EXPIRED: N_("Expired"),
    Stage.CANCELED: N_("Canceled"),
    Stage.FAILED: N_("Failed"),
    Stage.QUARANTINED: N_("Quarantined"),
}

#: Every action the ledger's event log records (``events.action``), as a person reads it.
EVENT_LABELS: dict[str, str] = {
    "created": N_("Document created"),
    "quarantined": N_("Set aside: data to fix"),
    "company_signed": N_("Signed by the company"),
    "sent": N_("Link sent"),
    "viewed": N_("Opened by the client"),
    "code_sent": N_("Confirmation code sent"),
    "code_send_failed": N_("Confirmation code not sent"),
    "code_verified": N_("Confirmation code accepted"),
    "code_failed": N_("Wrong confirmation code"),
    "client_signed": N_("Signed by the client"),
    "declined": N_("Declined by the client"),
    "completed": N_("Completed and sealed"),
    "verified": N_("Final file verified"),
    "expired": N_("Link expired"),
    "canceled": N_("Canceled"),
    "failed": N_("Failed"),
    "reminder_queued": N_("Reminder queued"),
    "reminder_sent": N_("Reminder sent"),
    "resend_queued": N_("Link resend requested"),
    "expiry_extended": N_("Link deadline extended"),
    "downloaded": N_("File downloaded"),
    "rule_fired": N_("Automation rule fired"),
}

#: Actors the system records under its own names (people are recorded by name).
ACTOR_LABELS: dict[str, str] = {
    "pipeline": N_("System"),
    "renderer": N_("System (document generation)"),
    "validator": N_("System (data validation)"),
    "rules": N_("Automation rules"),
    "client": N_("Client"),
    "auto-approve (configuration)": N_("Automatic approval (configuration)"),
}


def stage_label(gettext: Gettext, stage: Stage | str) -> str:
    """The stage as its reader says it; an unknown code is shown as it is (visible rather than hidden)."""
    try:
        return gettext(STAGE_LABELS[Stage(stage)])
    except ValueError:
        return str(stage)


def event_label(gettext: Gettext, action: str) -> str:
    label = EVENT_LABELS.get(action)
    return gettext(label) if label else action


def actor_label(gettext: Gettext, actor: str) -> str:
    label = ACTOR_LABELS.get(actor)
    return gettext(label) if label else actor


def stages_matching(gettext: Gettext, text: str, fold: Callable[[str], str],
                    stages: Iterable[Stage] = tuple(Stage)) -> list[Stage]:
    """Stages whose code or label (in the reader's language) contains ``text``, compared by ``fold`` (e.g.
    accent- and case-insensitively): "enviado" finds "Enviado ao cliente", "sent" finds the code."""
    wanted = fold(text.strip())
    if not wanted:
        return []
    return [s for s in stages if wanted == fold(s.value) or wanted in fold(stage_label(gettext, s))]
