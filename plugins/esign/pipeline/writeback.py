"""CRM write-backs (stage move + timeline comment), each done exactly once per document and target.

Why marks per document and a marker in each comment: the CRM has no idempotency key, and a crash can fall between
the CRM's answer and our mark. So the intent is recorded first (``pending``), the comment carries a stable marker
(document and target), ``commented`` is saved right after the comment, then the stage moves and the row is marked
``done``. An intent found ``pending`` again (left by a crash, a refusal or another worker) first looks for its
marker on the deal's timeline: a comment already there is not posted twice. Two workers never write back one
document at once: each group is written under per-document write-back locks (PostgreSQL advisory locks, freed when
a worker dies); what another worker holds is left to it. A deal deleted in the CRM ends its
write-back (``gone``, logged, counted by ``esign status``) instead of leaving it owed forever.

Comments go one request each with their file (``attach: file``) or, with ``attach: link``, 50 to a ``batch`` with
the download link in the text; stage moves go 50 to a ``batch`` in both modes.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import Engine, exists, func, select
from sqlalchemy.exc import IntegrityError

from esign.errors import CrmError, CrmNotFoundError, EsignError
from esign.model import Stage
from esign.pipeline.schema import SETTLED, crm_sync
from esign.pipeline.services import Services
from esign.store import DocumentRecord
from esign.store.schema import documents

log = logging.getLogger(__name__)

TARGETS = ("awaiting", "signed", "declined", "expired", "quarantined", "failed")
#: Documents per CRM round: a Bitrix24 ``batch`` holds 50 commands.
GROUP = 50


class WriteBacks(NamedTuple):
    """What one ``write_back_many`` did: how many written back, the refusals (still owed, by document ID) and the
    write-backs ended because the deal was deleted (by document ID)."""

    written: int
    refused: dict[str, EsignError]
    gone: dict[str, CrmNotFoundError]


def marker(document_id: str, target: str) -> str:
    """The stable tag at the end of every comment: how a resumed write-back finds the comment it already posted."""
    return f"[esign:{document_id}:{target}]"


def is_done(services: Services, document_id: str, target: str) -> bool:
    """Written back, or ended because the deal is gone: nothing more is owed."""
    query = select(crm_sync.c.state).where(crm_sync.c.document_id == document_id, crm_sync.c.target == target)
    with services.ws.engine.connect() as conn:
        return conn.execute(query).scalar() in SETTLED


def done_targets(services: Services, document_ids: Sequence[str]) -> set[tuple[str, str]]:
    """(document, target) pairs already written back (or gone), for a whole batch in one query."""
    if not document_ids:
        return set()
    query = select(crm_sync.c.document_id, crm_sync.c.target).where(
        crm_sync.c.document_id.in_(list(document_ids)), crm_sync.c.state.in_(SETTLED))
    with services.ws.engine.connect() as conn:
        return {(row[0], row[1]) for row in conn.execute(query)}


def gone_count(engine: Engine) -> int:
    """How many write-backs ended because their deal was deleted in the CRM (``esign status``)."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(crm_sync).where(crm_sync.c.state == "gone"))
                   .scalar_one())


def not_written_back(services: Services, stages: Sequence[Stage], target: str,
                     limit: int = 5000) -> list[DocumentRecord]:
    """Documents of a batch run in ``stages`` whose ``target`` write-back is still owed (never started, or a crash
    or a CRM failure left it pending), oldest ID first."""
    settled = exists().where(crm_sync.c.document_id == documents.c.id, crm_sync.c.target == target,
                             crm_sync.c.state.in_(SETTLED))
    query = (select(documents).where(documents.c.stage.in_([s.value for s in stages]),
                                     documents.c.batch_id.is_not(None), ~settled)
             .order_by(documents.c.id).limit(limit))
    with services.ws.engine.connect() as conn:
        return [DocumentRecord.from_row(row) for row in conn.execute(query)]


def write_back(services: Services, record: DocumentRecord, target: str, comment: str,
               files: Sequence[tuple[str, bytes]] = ()) -> bool:
    """Move the deal to the configured stage for ``target`` and comment; False when already done, gone (the deal
    was deleted) or a dry run.

    ``write_back_many`` with one document; the CRM's refusal is raised (the intent stays pending).
    """
    written, refused, _gone = write_back_many(services, [(record, comment)], target, {record.id: files})
    if record.id in refused:
        raise refused[record.id]
    return written == 1


def _record_intents(services: Services, document_ids: Sequence[str], target: str) -> tuple[dict[str, str], set[str]]:
    """Each document's write-back state for ``target`` and the IDs whose ``pending`` intent this call recorded (in
    one transaction). An intent that already existed was left by a crash, a refusal or another worker: its comment
    may already be on the deal. A concurrent writer recording some of them meanwhile sends the rest through one insert
    each: a row that exists is that writer's intent, not an error."""
    query = select(crm_sync.c.document_id, crm_sync.c.state).where(
        crm_sync.c.document_id.in_(list(document_ids)), crm_sync.c.target == target)
    engine = services.ws.engine
    with engine.connect() as conn:
        states: dict[str, str] = {doc_id: state for doc_id, state in conn.execute(query)}
    rows = [{"document_id": doc_id, "target": target, "state": "pending", "detail": "", "updated_at": datetime.now(UTC)}
            for doc_id in dict.fromkeys(document_ids) if doc_id not in states]
    if not rows:
        return states, set()
    fresh: set[str] = set()
    try:
        with engine.begin() as conn:
            conn.execute(crm_sync.insert(), rows)
        fresh = {str(row["document_id"]) for row in rows}
    except IntegrityError:
        for row in rows:
            with contextlib.suppress(IntegrityError), engine.begin() as conn:
                conn.execute(crm_sync.insert(), [row])
                fresh.add(str(row["document_id"]))
        with engine.connect() as conn:
            return {doc_id: state for doc_id, state in conn.execute(query)}, fresh
    return states | dict.fromkeys(fresh, "pending"), fresh


def _mark(services: Services, document_ids: Sequence[str], target: str, state: str, detail: str = "") -> None:
    """One transaction for the documents of one CRM round (a single document in ``file`` mode's comments)."""
    if not document_ids:
        return
    values: dict[str, object] = {"state": state, "updated_at": datetime.now(UTC)}
    if detail:
        values["detail"] = detail[:2000]
    with services.ws.engine.begin() as conn:
        conn.execute(crm_sync.update()
                     .where(crm_sync.c.document_id.in_(list(document_ids)), crm_sync.c.target == target,
                            crm_sync.c.state.not_in(SETTLED))
                     .values(**values))


@dataclass
class _Round:
    """One group of documents going through the CRM together, and what became of each."""

    target: str
    items: list[tuple[DocumentRecord, str]]
    written: list[str] = field(default_factory=list)
    refused: dict[str, EsignError] = field(default_factory=dict)
    gone: dict[str, CrmNotFoundError] = field(default_factory=dict)

    def fail(self, record: DocumentRecord, error: EsignError) -> None:
        if isinstance(error, CrmNotFoundError):
            self.gone[record.id] = error
        else:
            self.refused[record.id] = error


def write_back_many(services: Services, items: Sequence[tuple[DocumentRecord, str]], target: str,
                    files: Mapping[str, Sequence[tuple[str, bytes]]] | None = None,
                    ) -> WriteBacks:
    """Write back a batch: the intents in one transaction, then groups of 50 documents: their comments (``files``,
    by document ID, attached in ``file`` mode; links in the text in ``link`` mode), ``commented`` marks, the stage
    moves, ``done`` marks. Documents already done or gone are skipped.

    A refused one stays pending for the next run and does not stop the others. A deleted deal is neither written
    nor refused: its write-back ends ``gone``.
    """
    if target not in TARGETS:
        raise ValueError(f"unknown write-back target {target!r}")
    if services.config.dry_run or not items:
        return WriteBacks(0, {}, {})
    states, fresh = _record_intents(services, [record.id for record, _ in items], target)
    todo = [(record, text) for record, text in items if states.get(record.id) not in SETTLED]
    written = 0
    refused: dict[str, EsignError] = {}
    gone: dict[str, CrmNotFoundError] = {}
    for start in range(0, len(todo), GROUP):
        chunk = todo[start:start + GROUP]
        keys = {record.id: f"{record.id}:crm:{target}" for record, _ in chunk}
        with services.ws.ledger.bulk.exclusive_many(list(keys.values())) as mine:
            # another worker writing some of them back right now finishes them (or, if it dies, the next run does)
            held = [(record, text) for record, text in chunk if keys[record.id] in mine]
            current = _states(services, [record.id for record, _ in held], target)  # re-read under the lock
            group = _Round(target, [(r, text) for r, text in held if current.get(r.id) not in SETTLED])
            _write_locked(services, group, current, fresh, files or {})
        written += len(group.written)
        refused.update(group.refused)
        gone.update(group.gone)
    return WriteBacks(written, refused, gone)


def _states(services: Services, document_ids: Sequence[str], target: str) -> dict[str, str]:
    if not document_ids:
        return {}
    query = select(crm_sync.c.document_id, crm_sync.c.state).where(
        crm_sync.c.document_id.in_(list(document_ids)), crm_sync.c.target == target)
    with services.ws.engine.connect() as conn:
        return {doc_id: state for doc_id, state in conn.execute(query)}


def _write_locked(services: Services, group: _Round, states: Mapping[str, str], fresh: set[str],
                  files: Mapping[str, Sequence[tuple[str, bytes]]]) -> None:
    """One group under its write-back locks: the CRM calls, then the marks (also when something unexpected stops
    the round: what was done is recorded as done)."""
    target = group.target
    try:
        _write_round(services, group, states, fresh, files)
    finally:
        _mark(services, group.written, target, "done")
        for doc_id, error in group.gone.items():
            log.warning("document %s: the deal is gone from the CRM, write-back %s ended: %s", doc_id, target, error)
            _mark(services, [doc_id], target, "gone", str(error))


def _write_round(services: Services, group: _Round, states: Mapping[str, str], fresh: set[str],
                 files: Mapping[str, Sequence[tuple[str, bytes]]]) -> None:
    crm, target = services.crm, group.target
    stage = getattr(services.config.stages, target)
    # a comment already posted: marked commented, or (an intent left pending) found on the deal's timeline
    posted = {r.id for r, _ in group.items if states.get(r.id) == "commented"}
    try:
        posted |= _found_on_timeline(services, [r for r, _ in group.items if r.id not in fresh | posted], target)
    except CrmError as exc:  # the timeline cannot be read now: these wait for the next run, the others go on
        for record, _ in group.items:
            if record.id not in fresh | posted:
                group.fail(record, exc)
    to_post = [(r, f"{text}\n{marker(r.id, target)}") for r, text in group.items
               if r.id not in posted and r.id not in group.refused]
    if services.config.attach == "link":
        outcome = crm.add_comments([(int(r.deal_id), text) for r, text in to_post])
        for (record, _), error in zip(to_post, outcome, strict=True):
            if error is None:
                posted.add(record.id)
            else:
                group.fail(record, error)
        _mark(services, [r.id for r, _ in to_post if r.id in posted], target, "commented")
    else:
        for record, text in to_post:
            try:
                crm.add_comment(int(record.deal_id), text, files.get(record.id, ()))
            except EsignError as exc:
                group.fail(record, exc)
                continue
            posted.add(record.id)
            _mark(services, [record.id], target, "commented")
    movable = [r for r, _ in group.items if r.id in posted and r.id not in group.gone]
    try:
        moved = crm.move_deals([(int(r.deal_id), stage) for r in movable])
    except CrmError as exc:  # the whole round refused (stages unreadable): commented, the moves wait
        moved = [exc] * len(movable)
    for record, error in zip(movable, moved, strict=True):
        if error is None:
            group.written.append(record.id)
        else:
            group.fail(record, error)


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


def _found_on_timeline(services: Services, records: Sequence[DocumentRecord], target: str) -> set[str]:
    """The documents among ``records`` (intents left pending) whose comment is already on their deal's timeline.
    Two documents of one deal are looked up in separate rounds (one marker per deal and round)."""
    found: set[str] = set()
    left = list(records)
    while left:
        layer: dict[int, DocumentRecord] = {}
        rest: list[DocumentRecord] = []
        for record in left:
            (rest.append(record) if int(record.deal_id) in layer else layer.setdefault(int(record.deal_id), record))
        seen = services.crm.find_comments({deal: marker(r.id, target) for deal, r in layer.items()})
        found |= {r.id for deal, r in layer.items() if deal in seen}
        left = rest
    return found
