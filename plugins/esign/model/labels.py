"""What a person reads for each lifecycle stage and message channel, next to the stage machine.

The stage codes stay in the ledger, the logs and JSON; pages, reports and messages show these labels, translated
where they are shown (``stage_label(stage, t)``). One place, so every surface names a stage the same way.
"""

from __future__ import annotations

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

#: The channels a signing link or a code goes out by (``esign.dispatch.records.Channel`` values).
CHANNEL_LABELS: dict[str, str] = {
    "email": N_("E-mail"),
    "sms": N_("SMS"),
}


def stage_label(stage: Stage | str, t: Translator) -> str:
    """The translated label of ``stage``; an unknown code is shown as it is rather than hidden."""
    try:
        return t.gettext(STAGE_LABELS[Stage(stage)])
    except ValueError:
        return str(stage)


def channel_label(channel: str, t: Translator) -> str:
    """The translated name of a channel; an unknown one is shown as it is."""
    label = CHANNEL_LABELS.get(str(channel))
    return t.gettext(label) if label is not None else str(channel)
