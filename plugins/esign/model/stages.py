"""The document lifecycle: one state machine, in one place.

`draft -> company_signed -> sent -> viewed -> client_signed -> completed`, with the ends `declined`,
`expired`, `canceled`, `failed`, and `quarantined` for input that cannot be rendered.
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    DRAFT = "draft"
    COMPANY_SIGNED = "company_signed"
    SENT = "sent"
    VIEWED = "viewed"
    CLIENT_SIGNED = "client_signed"
    COMPLETED = "completed"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELED = "canceled"
    FAILED = "failed"
    QUARANTINED = "quarantined"


FINAL_STAGES: frozenset[Stage] = frozenset(
    {Stage.COMPLETED, Stage.DECLINED, Stage.EXPIRED, Stage.CANCELED, Stage.FAILED, Stage.QUARANTINED}
)

_OPEN = (Stage.DRAFT, Stage.COMPANY_SIGNED, Stage.SENT, Stage.VIEWED, Stage.CLIENT_SIGNED)

#: Allowed moves. A move to the same stage is never allowed: events that do not change the stage
#: (a reminder, a code request) are recorded with ``stage=None``.
TRANSITIONS: dict[Stage, frozenset[Stage]] = {
    Stage.DRAFT: frozenset({Stage.COMPANY_SIGNED, Stage.CANCELED, Stage.FAILED, Stage.QUARANTINED}),
    Stage.COMPANY_SIGNED: frozenset({Stage.SENT, Stage.CANCELED, Stage.FAILED, Stage.EXPIRED}),
    Stage.SENT: frozenset({Stage.VIEWED, Stage.CLIENT_SIGNED, Stage.DECLINED, Stage.EXPIRED, Stage.CANCELED,
                           Stage.FAILED}),
    Stage.VIEWED: frozenset({Stage.CLIENT_SIGNED, Stage.DECLINED, Stage.EXPIRED, Stage.CANCELED, Stage.FAILED}),
    Stage.CLIENT_SIGNED: frozenset({Stage.COMPLETED, Stage.FAILED}),
    Stage.FAILED: frozenset(),
    Stage.COMPLETED: frozenset(),
    Stage.DECLINED: frozenset(),
    Stage.EXPIRED: frozenset(),
    Stage.CANCELED: frozenset(),
    Stage.QUARANTINED: frozenset(),
}


def can_move(current: Stage | None, target: Stage) -> bool:
    """True when a document in ``current`` (None: not created yet) may move to ``target``."""
    if current is None:
        return target in (Stage.DRAFT, Stage.QUARANTINED)
    return target in TRANSITIONS[current]


def is_open(stage: Stage) -> bool:
    """A document still moving towards completion."""
    return stage in _OPEN
