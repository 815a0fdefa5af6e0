"""Stuck documents: work the pipeline still owes on a document, for longer than an operator should accept.

What is owed, by stage: a company signature (``draft``), an invitation (``company_signed``), sealing
(``client_signed``), or the CRM write-back of the stage reached (awaiting, signed, declined, expired, failed,
quarantined); and, for a document with several signers still waiting for signatures, the next signers' invitation
(``next_invitation``: nobody holds an open link, so nobody can sign until the pipeline invites them). The age
counts from the document's last stage move (for the next invitation: from the last answer). A draft of a batch
nobody approved yet waits for a person, not for the pipeline: it is stuck only once the approval window (the
director's three days) has passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, case, exists, func, or_, select

from esign.model import Stage
from esign.pipeline.schema import SETTLED, batches, crm_sync
from esign.requests.records import RequestStatus
from esign.requests.schema import signing_requests
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


def _next_invitation_owed(since: datetime) -> Any:
    """SQL: a document with several signers waits for signatures, nobody holds an open link, and nobody answered
    since ``since``: the pipeline owes the next signers their invitation."""
    of_document = signing_requests.c.document_id == documents.c.id
    return and_(documents.c.stage.in_([Stage.SENT.value, Stage.VIEWED.value]), documents.c.signers_json != "[]",
                ~exists().where(of_document, signing_requests.c.status == RequestStatus.OPEN.value),
                ~exists().where(of_document, signing_requests.c.closed_at >= since))


def stuck_documents(engine: Engine, stuck_after: timedelta, *, now: datetime | None = None,
                    limit: int = 20) -> StuckReport:
    """Documents owing work for longer than ``stuck_after`` (drafts awaiting approval: ``APPROVAL_WINDOW``)."""
    now = now or datetime.now(UTC)
    unapproved_draft = and_(documents.c.stage == Stage.DRAFT.value, batches.c.approved_by.is_(None))
    late = or_(and_(unapproved_draft, documents.c.updated_at < now - max(stuck_after, APPROVAL_WINDOW)),
               and_(~unapproved_draft, documents.c.updated_at < now - stuck_after))
    base = documents.outerjoin(batches, batches.c.id == documents.c.batch_id)
    next_owed = _next_invitation_owed(now - stuck_after)
    where = or_(and_(_owed(), late), next_owed)
    last_answer = (select(func.max(signing_requests.c.closed_at))
                   .where(signing_requests.c.document_id == documents.c.id).scalar_subquery())
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(base).where(where)).scalar_one())
        rows = conn.execute(select(documents.c.id, documents.c.deal_id, documents.c.stage, documents.c.batch_id,
                                   batches.c.approved_by, documents.c.updated_at,
                                   case((next_owed, last_answer), else_=None).label("answered_at"))
                            .select_from(base).where(where)
                            .order_by(documents.c.updated_at, documents.c.id).limit(limit)).all()
    listed = []
    for doc_id, deal_id, stage, batch_id, approved_by, updated_at, answered_at in rows:
        moment = answered_at or updated_at
        since = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
        owed = "next_invitation" if answered_at is not None else OWED[Stage(stage)]
        listed.append(StuckDocument(doc_id, deal_id, stage, owed, batch_id, approved_by is not None, since,
                                    now - since))
    return StuckReport(stuck_after, total, listed)
