"""CRM write-backs (stage move + timeline comment), each done once per document and target.

The intent is recorded first (``pending``), then the CRM is called, then the row is marked ``done``. A crash
in between leaves ``pending``; the next run repeats the call. Moving a stage twice is harmless; a comment may
then appear twice, which is visible and harmless, while a lost write-back would leave a deal stuck.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from esign.errors import EsignError
from esign.model import Stage
from esign.pipeline.schema import crm_sync
from esign.pipeline.services import Services
from esign.store import DocumentRecord
from esign.store.schema import documents

TARGETS = ("awaiting", "signed", "declined", "expired", "quarantined", "failed")


def is_done(services: Services, document_id: str, target: str) -> bool:
    query = select(crm_sync.c.state).where(crm_sync.c.document_id == document_id, crm_sync.c.target == target)
    with services.ws.engine.connect() as conn:
        return conn.execute(query).scalar() == "done"


def done_targets(services: Services, document_ids: Sequence[str]) -> set[tuple[str, str]]:
    """(document, target) pairs already written back, for a whole batch in one query."""
    if not document_ids:
        return set()
    query = select(crm_sync.c.document_id, crm_sync.c.target).where(
        crm_sync.c.document_id.in_(list(document_ids)), crm_sync.c.state == "done")
    with services.ws.engine.connect() as conn:
        return {(row[0], row[1]) for row in conn.execute(query)}


def not_written_back(services: Services, stages: Sequence[Stage], target: str,
                     limit: int = 5000) -> list[DocumentRecord]:
    """Documents of a batch run in ``stages`` whose ``target`` write-back is not done (never started, or a crash
    or a CRM failure left it pending), oldest ID first."""
    done = exists().where(crm_sync.c.document_id == documents.c.id, crm_sync.c.target == target,
                          crm_sync.c.state == "done")
    query = (select(documents).where(documents.c.stage.in_([s.value for s in stages]),
                                     documents.c.batch_id.is_not(None), ~done)
             .order_by(documents.c.id).limit(limit))
    with services.ws.engine.connect() as conn:
        return [DocumentRecord.from_row(row) for row in conn.execute(query)]


def write_back(services: Services, record: DocumentRecord, target: str, comment: str,
               files: Sequence[tuple[str, bytes]] = ()) -> bool:
    """Move the deal to the configured stage for ``target`` and comment; False when already done (or a dry run).

    ``write_back_many`` with one document; the CRM's refusal is raised (the intent stays pending).
    """
    written, refused = write_back_many(services, [(record, comment)], target, {record.id: files})
    if record.id in refused:
        raise refused[record.id]
    return written == 1


def _mark_done(services: Services, document_ids: Sequence[str], target: str) -> None:
    with services.ws.engine.begin() as conn:
        conn.execute(crm_sync.update()
                     .where(crm_sync.c.document_id.in_(list(document_ids)), crm_sync.c.target == target)
                     .values(state="done", updated_at=datetime.now(UTC)))


def _record_intents(services: Services, document_ids: Sequence[str], target: str) -> dict[str, str]:
    """Each document's write-back state for ``target``, a ``pending`` intent recorded for those without one (in one
    transaction). A concurrent writer recording some of them meanwhile sends the rest through one insert each: a
    row that exists is that writer's intent, not an error."""
    query = select(crm_sync.c.document_id, crm_sync.c.state).where(
        crm_sync.c.document_id.in_(list(document_ids)), crm_sync.c.target == target)
    engine = services.ws.engine
    with engine.connect() as conn:
        states: dict[str, str] = {doc_id: state for doc_id, state in conn.execute(query)}
    rows = [{"document_id": doc_id, "target": target, "state": "pending", "detail": "", "updated_at": datetime.now(UTC)}
            for doc_id in dict.fromkeys(document_ids) if doc_id not in states]
    if not rows:
        return states
    try:
        with engine.begin() as conn:
            conn.execute(crm_sync.insert(), rows)
    except IntegrityError:
        for row in rows:
            with contextlib.suppress(IntegrityError), engine.begin() as conn:
                conn.execute(crm_sync.insert(), [row])
        with engine.connect() as conn:
            return {doc_id: state for doc_id, state in conn.execute(query)}
    return states | {str(row["document_id"]): "pending" for row in rows}


def write_back_many(services: Services, items: Sequence[tuple[DocumentRecord, str]], target: str,
                    files: Mapping[str, Sequence[tuple[str, bytes]]] | None = None,
                    ) -> tuple[int, dict[str, EsignError]]:
    """Write back a batch: the intents in one transaction, the CRM calls one by one (with the document's
    ``files``, by document ID, attached to its comment), the done marks in one transaction. Documents already
    done are skipped.

    Returns how many were written back and the CRM's refusals by document ID; a refused one stays pending
    for the next run and does not stop the others (a deal deleted in the CRM must not hold up its batch).
    """
    if target not in TARGETS:
        raise ValueError(f"unknown write-back target {target!r}")
    if services.config.dry_run or not items:
        return 0, {}
    states = _record_intents(services, [record.id for record, _ in items], target)
    todo = [(record, comment) for record, comment in items if states.get(record.id) != "done"]
    finished: list[str] = []
    refused: dict[str, EsignError] = {}
    stage = getattr(services.config.stages, target)
    try:
        for record, comment in todo:
            try:
                services.crm.add_comment(int(record.deal_id), comment, (files or {}).get(record.id, ()))
                services.crm.move_deal(int(record.deal_id), stage)
            except EsignError as exc:
                refused[record.id] = exc
                continue
            finished.append(record.id)
    finally:  # also when something unexpected stops the loop: what was done is recorded as done
        if finished:
            _mark_done(services, finished, target)
    return len(finished), refused


def restart_allowed(services: Services, record: DocumentRecord) -> bool:
    """A deal back in the trigger stage after its document ended may get a new round, once written back.

    The deal's stage is read again from the CRM here: a worker that fetched the deal before another worker's
    write-back moved it out of the trigger stage must not take that stale read for a return (a second round).
    """
    if record.stage.value == "canceled":
        allowed = True  # an operator canceled it; a deal moved back to the trigger stage starts over
    else:
        target = {"quarantined": "quarantined", "declined": "declined", "expired": "expired",
                  "failed": "failed"}.get(record.stage.value)
        allowed = target is not None and is_done(services, record.id, target)
    return allowed and services.crm.get_deal_stage(int(record.deal_id)) == services.config.stages.trigger
