"""Stuck documents: work the pipeline still owes on a document, for longer than an operator should accept.

What is owed, by stage: a company signature (``draft``), an invitation (``company_signed``), sealing
(``client_signed``), or the CRM write-back of the stage reached (awaiting, signed, declined, expired, failed,
quarantined). The age counts from the document's last stage move. A draft of a batch nobody approved yet waits for
a person, not for the pipeline: it is stuck only once the approval window (the director's three days) has passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, exists, func, or_, select

from esign.model import Stage
from esign.pipeline.schema import SETTLED, batches, crm_sync
from esign.store.schema import documents

#: The director's approval task gives up after this long (``director_approval``'s response timeout).
APPROVAL_WINDOW = timedelta(days=3)
#: What each stage owes (a machine code; the edges turn it into words).
OWED = {Stage.DRAFT: "company_signature", Stage.COMPANY_SIGNED: "invitation", Stage.CLIENT_SIGNED: "sealing",
        Stage.SENT: "crm_awaiting", Stage.VIEWED: "crm_awaiting", Stage.COMPLETED: "crm_signed",
        Stage.DECLINED: "crm_declined", Stage.EXPIRED: "crm_expired", Stage.FAILED: "crm_failed",
        Stage.QUARANTINED: "crm_quarantined"}
_WRITE_BACK = {Stage.SENT: "awaiting", Stage.VIEWED: "awaiting", Stage.COMPLETED: "signed",
               Stage.DECLINED: "declined", Stage.EXPIRED: "expired", Stage.FAILED: "failed",
               Stage.QUARANTINED: "quarantined"}


@dataclass(frozen=True, slots=True)
class StuckDocument:
    document_id: str
    deal_id: str
    stage: str
    owed: str
    batch_id: str | None
    approved: bool
    since: datetime
    age: timedelta

    def to_dict(self) -> dict[str, Any]:
        return {"document": self.document_id, "deal": self.deal_id, "stage": self.stage, "owed": self.owed,
                "batch": self.batch_id, "approved": self.approved, "since": self.since.isoformat(),
                "age_minutes": int(self.age.total_seconds() // 60)}


@dataclass(frozen=True, slots=True)
class StuckReport:
    """``total`` stuck documents, the oldest ``listed``; ``threshold`` the age they passed."""

    threshold: timedelta
    total: int
    listed: list[StuckDocument]

    def to_dict(self) -> dict[str, Any]:
        return {"threshold_minutes": int(self.threshold.total_seconds() // 60), "total": self.total,
                "documents": [d.to_dict() for d in self.listed]}


def _owed() -> Any:
    """SQL: the document owes the pipeline something (see the module docstring)."""
    def not_done(target: str) -> Any:
        return ~exists().where(crm_sync.c.document_id == documents.c.id, crm_sync.c.target == target,
                               crm_sync.c.state.in_(SETTLED))

    write_backs = [and_(documents.c.stage == stage.value, documents.c.batch_id.is_not(None), not_done(target))
                   for stage, target in _WRITE_BACK.items()]
    return or_(documents.c.stage.in_([Stage.DRAFT.value, Stage.COMPANY_SIGNED.value, Stage.CLIENT_SIGNED.value]),
               *write_backs)


def stuck_documents(engine: Engine, stuck_after: timedelta, *, now: datetime | None = None,
                    limit: int = 20) -> StuckReport:
    """Documents owing work for longer than ``stuck_after`` (drafts awaiting approval: ``APPROVAL_WINDOW``)."""
    now = now or datetime.now(UTC)
    unapproved_draft = and_(documents.c.stage == Stage.DRAFT.value, batches.c.approved_by.is_(None))
    late = or_(and_(unapproved_draft, documents.c.updated_at < now - max(stuck_after, APPROVAL_WINDOW)),
               and_(~unapproved_draft, documents.c.updated_at < now - stuck_after))
    base = documents.outerjoin(batches, batches.c.id == documents.c.batch_id)
    where = and_(_owed(), late)
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(base).where(where)).scalar_one())
        rows = conn.execute(select(documents.c.id, documents.c.deal_id, documents.c.stage, documents.c.batch_id,
                                   batches.c.approved_by, documents.c.updated_at).select_from(base).where(where)
                            .order_by(documents.c.updated_at, documents.c.id).limit(limit)).all()
    listed = []
    for doc_id, deal_id, stage, batch_id, approved_by, updated_at in rows:
        since = updated_at.replace(tzinfo=UTC) if updated_at.tzinfo is None else updated_at
        listed.append(StuckDocument(doc_id, deal_id, stage, OWED[Stage(stage)], batch_id, approved_by is not None,
                                    since, now - since))
    return StuckReport(stuck_after, total, listed)
