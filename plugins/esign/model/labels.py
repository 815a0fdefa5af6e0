"""What a person reads for each lifecycle stage, event and actor, next to the stage machine; a message channel's
label comes from its registration (:mod:`esign.dispatch.labels`).

The stage codes stay in the ledger, the logs and JSON; pages, reports and messages show these labels, translated
where they are shown (``stage_label(stage, t)``). One place, so every surface names a stage the same way. The
event log's actions and the system's own actors are named here too (the staff register's audit trail; the
certificate of completion can read the same).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from esign.i18n import N_
from esign.model.stages import Stage

if TYPE_CHECKING:
    from esign.i18n import Translator

#: Each stage as a person reads it (a document's state: "the document is ...").
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

#: Where an event came from besides a message channel (each channel's label is its registration's).
EVENT_ORIGIN_LABELS: dict[str, str] = {"staff": N_("Staff")}


def stage_label(stage: Stage | str, t: Translator) -> str:
    """The translated label of ``stage``; an unknown code is shown as it is rather than hidden."""
    try:
        return t.gettext(STAGE_LABELS[Stage(stage)])
    except ValueError:
        return str(stage)


def company_signer(actor: str, detail: str) -> str:
    """Who signed for the company in a ``company_signed`` event: the director the detail names (``signed by
    ...``), else the actor when it is a person; a system approver (``auto-approve (configuration)``) is not a
    signer and gives ""."""
    for lead in ("signed by ", "assinado por "):
        if detail.startswith(lead) and detail[len(lead):].strip():
            return detail[len(lead):].strip()
    return "" if actor in ACTOR_LABELS else actor


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
    "final_copy_sent": N_("Final signed copy sent"),
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


def event_label(action: str, t: Translator) -> str:
    """The translated name of an event log action; an unknown one is shown as it is."""
    label = EVENT_LABELS.get(action)
    return t.gettext(label) if label is not None else action


def actor_label(actor: str, t: Translator) -> str:
    """A system actor by its translated name; a person (recorded by name) as recorded."""
    label = ACTOR_LABELS.get(actor)
    return t.gettext(label) if label is not None else actor


def stages_matching(text: str, t: Translator, fold: Callable[[str], str],
                    stages: Iterable[Stage] = tuple(Stage)) -> list[Stage]:
    """Stages whose code or label (in the reader's language) contains ``text``, compared through ``fold`` (e.g.
    accents and case ignored): "enviado" finds the sent documents, "sent" the same by code."""
    wanted = fold(text.strip())
    if not wanted:
        return []
    return [s for s in stages if wanted == fold(s.value) or wanted in fold(stage_label(s, t))]
