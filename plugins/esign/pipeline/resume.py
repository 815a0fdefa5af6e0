"""What earlier runs left unfinished, found in the ledger and finished by the next run, whatever its run id.

A send run takes over every batch of another run that still owes work: drafts to sign, company-signed documents
to send, stage write-backs (awaiting, quarantined, failed) not done. The batch moves to the new run (its ID keeps
the run it came from, ``counts_json`` says ``taken_over_from``), so the new run's summary, approval and ``deliver``
cover it with the same exactly-once steps as its own batches; two runs holding the same batch at once only repeat
idempotent steps. Approval: a batch nobody approved is approved by the new run's approval (the director sees it in
the summary as carried over); a batch approved before keeps that approval, which covered exactly its documents.

A collect run finishes the approved batches nobody has touched for a while (a dead send run), without an approval
of its own: it never signs a draft nobody approved; those wait for the next send run and are reported stuck.

A draft or company-signed document whose deal left the trigger stage (someone moved it) is canceled with the
reason instead of being signed or sent: nobody waits for it any more, and the deal gets a new round if it comes back.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select

from esign.model import Stage
from esign.pipeline.schema import SETTLED, batches, crm_sync
from esign.pipeline.services import Services
from esign.store import EventInfo
from esign.store.schema import documents

log = logging.getLogger(__name__)

#: Stages whose documents still need the send chain (company signature, invitation).
TO_DELIVER = (Stage.DRAFT, Stage.COMPANY_SIGNED)
#: Write-backs a send run owes, by the stage of the document.
SEND_WRITE_BACKS = {Stage.SENT: "awaiting", Stage.VIEWED: "awaiting", Stage.QUARANTINED: "quarantined",
                    Stage.FAILED: "failed"}
LEFT_TRIGGER = "the deal left the trigger stage before its document was sent"


@dataclass(frozen=True, slots=True)
class OpenBatch:
    """A batch with work still owed: where its deals are, who approved it, how many documents owe something."""

    batch_id: str
    run_id: str
    crm: str
    template_id: str
    stage_id: str
    first_id: int
    last_id: int
    planned: int
    approved_by: str | None
    updated_at: datetime
    owed: int

    def spec(self, run_id: str | None = None) -> dict[str, Any]:
        """The mapped task input for this batch (``resume``: prepare renders what is missing, creates nothing),
        held by ``run_id`` (None: by whoever holds it when it runs)."""
        return {"batch_id": self.batch_id, "first_id": self.first_id, "last_id": self.last_id,
                "count": self.planned, "resume": True, "run_id": run_id}


def _write_back_done(target: str) -> Any:
    return exists().where(crm_sync.c.document_id == documents.c.id, crm_sync.c.target == target,
                          crm_sync.c.state.in_(SETTLED))


def owed_by_send() -> Any:
    """SQL: the document still needs the send chain or one of its write-backs."""
    return or_(documents.c.stage.in_([s.value for s in TO_DELIVER]),
               *[and_(documents.c.stage == stage.value, ~_write_back_done(target))
                 for stage, target in SEND_WRITE_BACKS.items()])


def open_batches(services: Services, *, other_than: str | None = None, approved_only: bool = False,
                 idle_since: datetime | None = None, deliver_only: bool = False) -> list[OpenBatch]:
    """Batches of this CRM with documents owing work, oldest first; optionally not of run ``other_than``, only
    approved ones, only those untouched since ``idle_since``, only those with documents to sign or send."""
    owed = documents.c.stage.in_([s.value for s in TO_DELIVER]) if deliver_only else owed_by_send()
    columns = (batches.c.id, batches.c.run_id, batches.c.crm, batches.c.template_id, batches.c.stage_id,
               batches.c.first_id, batches.c.last_id, batches.c.planned, batches.c.approved_by, batches.c.updated_at)
    query = (select(*columns, func.count(documents.c.id))
             .join(documents, documents.c.batch_id == batches.c.id)
             .where(batches.c.crm == services.crm.name, owed)
             .group_by(*columns).order_by(batches.c.created_at, batches.c.id))
    if other_than is not None:
        query = query.where(batches.c.run_id != other_than)
    if approved_only:
        query = query.where(batches.c.approved_by.is_not(None))
    if idle_since is not None:
        query = query.where(batches.c.updated_at < idle_since)
    with services.ws.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [OpenBatch(r[0], r[1], r[2], r[3], r[4], int(r[5]), int(r[6]), int(r[7]), r[8], _utc(r[9]), int(r[10]))
            for r in rows]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def take_over(services: Services, run_id: str) -> list[OpenBatch]:
    """Move every batch of another run that still owes work to ``run_id``; the batches this run now holds.

    A dry run takes nothing over (it would finish nothing). The move is conditional on the batch's current run, so
    of two runs taking over the same batch at once each records the run it really took it from.
    """
    if services.config.dry_run:
        return []
    taken: list[OpenBatch] = []
    now = datetime.now(UTC)
    for batch in open_batches(services, other_than=run_id):
        with services.ws.engine.begin() as conn:
            counts = json.loads(conn.execute(select(batches.c.counts_json).where(batches.c.id == batch.batch_id))
                                .scalar() or "{}")
            counts.setdefault("taken_over_from", []).append(batch.run_id)
            moved = conn.execute(batches.update().where(batches.c.id == batch.batch_id,
                                                        batches.c.run_id == batch.run_id)
                                 .values(run_id=run_id, counts_json=json.dumps(counts), updated_at=now))
        if moved.rowcount == 1:
            log.warning("run %s: took over batch %s of run %s (%d document(s) owing work, %s)", run_id,
                        batch.batch_id, batch.run_id, batch.owed,
                        f"approved by {batch.approved_by}" if batch.approved_by else "not approved yet")
            taken.append(batch)
    cancel_abandoned(services, taken)
    return taken


def cancel_abandoned(services: Services, held: Sequence[OpenBatch]) -> int:
    """Cancel the drafts and company-signed documents of ``held`` whose deal is no longer in the batch's stage."""
    by_stage: dict[str, list[OpenBatch]] = defaultdict(list)
    for batch in held:
        by_stage[batch.stage_id].append(batch)
    canceled = 0
    for stage_id, group in by_stage.items():
        records = [r for b in group for r in services.ws.ledger.list_batch(b.batch_id, list(TO_DELIVER))]
        if not records:
            continue
        waiting = set(services.crm.iter_deal_ids(stage_id))  # one listing of the stage, only when needed
        info = EventInfo(actor="pipeline", detail=LEFT_TRIGGER)
        for stage in TO_DELIVER:
            gone = [(r.id, info) for r in records if r.stage is stage and int(r.deal_id) not in waiting]
            moved = services.ws.ledger.move_many(gone, stage, Stage.CANCELED, "canceled")
            if moved:
                _set_reason(services, moved)
                log.warning("canceled %d %s document(s): %s", len(moved), stage.value, LEFT_TRIGGER)
            canceled += len(moved)
    return canceled


def _set_reason(services: Services, document_ids: Sequence[str]) -> None:
    with services.ws.engine.begin() as conn:
        conn.execute(documents.update().where(documents.c.id.in_(list(document_ids)),
                                              documents.c.stage == Stage.CANCELED.value)
                     .values(reason=LEFT_TRIGGER))


def idle_approved(services: Services, idle: timedelta) -> list[OpenBatch]:
    """Approved batches with documents to sign or send that no run has touched for ``idle`` (their run died)."""
    held = open_batches(services, approved_only=True, idle_since=datetime.now(UTC) - idle, deliver_only=True)
    cancel_abandoned(services, held)
    return held


def batch_row(services: Services, batch_id: str) -> Any:
    """The ``pipeline_batches`` row of a batch (None when unknown)."""
    with services.ws.engine.connect() as conn:
        return conn.execute(select(batches).where(batches.c.id == batch_id)).first()
