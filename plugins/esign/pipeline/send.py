"""The steps of a bulk send, one function per DAG task; each is idempotent and returns small counts.

plan -> prepare (validate + render) -> [director approves] -> deliver: company-sign -> request + dispatch -> CRM
awaiting. Batches are ID ranges of deals, so a task's input is a few numbers, never records. ``plan`` also takes
over the batches earlier runs left unfinished (:mod:`esign.pipeline.resume`), so they go through this run's
approval and ``deliver``; ``deliver`` fails loudly (after recording what it did) when work it owns is still owed.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from esign.core.batch_documents import company_sign_documents, prepare_documents
from esign.core.documents import fail_document
from esign.dispatch.records import Channel
from esign.errors import DispatchError, EsignError, UnfinishedWorkError
from esign.model import Stage
from esign.pipeline import approval, comments, invitations, resume, writeback
from esign.pipeline.approval import approve_run as approve_run  # the DAG and callers name them send.<function>
from esign.pipeline.approval import record_approval as record_approval
from esign.pipeline.approval import summarize_for_approval as summarize_for_approval
from esign.pipeline.approval import summarize_run as summarize_run
from esign.pipeline.schema import batches
from esign.pipeline.services import Services
from esign.store import DocumentRecord, EventInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BatchSpec:
    """A mapped task's whole input: which deals (an ID range) of which run. ``resume``: a batch taken over from an
    earlier run, whose documents exist already (prepare renders what is missing and creates none). ``run_id``: the
    run that held the batch when it was planned (None: whoever holds it, as collect's catch-up does)."""

    batch_id: str
    first_id: int
    last_id: int
    count: int
    resume: bool = False
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchSpec:
        run_id = data.get("run_id")
        return cls(str(data["batch_id"]), int(data["first_id"]), int(data["last_id"]), int(data["count"]),
                   bool(data.get("resume", False)), None if run_id is None else str(run_id))


def _chunks(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    it = iter(ids)
    while chunk := list(islice(it, size)):
        yield chunk


def plan_batches(services: Services, run_id: str) -> list[dict[str, Any]]:
    """Check the configuration against the CRM, take over what earlier runs left unfinished, then cut the trigger
    stage into ID-range batches."""
    config = services.config
    services.ws.templates.get(config.template)  # an unknown template fails here, before any deal
    config.stages.validate(services.crm.list_stages())
    specs = [batch.spec(run_id) for batch in resume.take_over(services, run_id)]
    limit = config.max_deals or None
    now = datetime.now(UTC)
    for n, ids in enumerate(_chunks(services.crm.iter_deal_ids(config.stages.trigger, limit=limit),
                                    config.batch_size)):
        spec = BatchSpec(f"{run_id}#{n:05d}", ids[0], ids[-1], len(ids), run_id=run_id)
        _record_batch(services, run_id, spec, now)
        specs.append(spec.to_dict())
    log.info("run %s: %d batches (%d taken over from earlier runs)", run_id, len(specs),
             sum(1 for s in specs if s["resume"]))
    return specs


def _record_batch(services: Services, run_id: str, spec: BatchSpec, now: datetime) -> None:
    values = {"run_id": run_id, "crm": services.crm.name, "template_id": services.config.template,
              "stage_id": services.config.stages.trigger, "first_id": spec.first_id, "last_id": spec.last_id,
              "planned": spec.count, "updated_at": now}
    with services.ws.engine.begin() as conn:
        try:
            with conn.begin_nested():
                conn.execute(batches.insert().values(id=spec.batch_id, created_at=now, counts_json="{}", **values))
        except IntegrityError:
            conn.execute(batches.update().where(batches.c.id == spec.batch_id).values(**values))


def _save_counts(services: Services, batch_id: str, step: str, counts: dict[str, int]) -> None:
    with services.ws.engine.begin() as conn:
        current = conn.execute(select(batches.c.counts_json).where(batches.c.id == batch_id)).scalar() or "{}"
        data = json.loads(current)
        data[step] = counts
        conn.execute(batches.update().where(batches.c.id == batch_id)
                     .values(counts_json=json.dumps(data), updated_at=datetime.now(UTC)))


def prepare_batch(services: Services, batch: dict[str, Any]) -> dict[str, int]:
    """Validate and render every deal of the batch; bad ones are quarantined, the rest go on."""
    spec = BatchSpec.from_dict(batch)
    if spec.resume:
        return prepare_resumed(services, spec)
    config = services.config
    counts: Counter[str] = Counter()
    fetched = services.crm.fetch_deals(config.stages.trigger, spec.first_id, spec.last_id)
    counts["missing"] = max(spec.count - len(fetched), 0)  # deleted or moved since planning
    try:
        prepared = prepare_documents(
            services.ws, [(item.deal, item.problems) for item in fetched], config.template, crm=services.crm.name,
            batch_id=spec.batch_id, may_restart=lambda r: writeback.restart_allowed(services, r))
    except EsignError as exc:  # the ledger refused the batch's writes: the task fails, its retry redoes the rest
        raise EsignError(f"batch {spec.batch_id}: {exc}") from exc
    for item in prepared:
        record = item.record
        if record is None or item.error:
            counts["errors"] += 1  # logged where it happened; the next run retries this deal
            continue
        if not item.created and record.batch_id != spec.batch_id:
            counts["existing"] += 1
            continue
        if record.stage is Stage.QUARANTINED:
            counts["quarantined"] += 1
            _write_back_quarantine(services, record)
        elif record.stage is Stage.DRAFT:
            counts["prepared"] += 1
        else:
            counts[record.stage.value] += 1
    result = dict(counts)
    _save_counts(services, spec.batch_id, "prepare", result)
    return result


def prepare_resumed(services: Services, spec: BatchSpec) -> dict[str, int]:
    """A batch taken over from an earlier run: render its drafts whose rendering a crash lost (with the batch's own
    template and stage), write back its quarantines. Creates no document: new deals belong to new batches."""
    counts: Counter[str] = Counter(resumed=1)
    row = resume.batch_row(services, spec.batch_id)
    drafts = services.ws.ledger.list_batch(spec.batch_id, [Stage.DRAFT])
    rendered = services.ws.ledger.bulk.versions_for([r.id for r in drafts], "rendered")
    missing = {r.deal_id for r in drafts if r.id not in rendered}
    if row is not None and missing:
        fetched = services.crm.fetch_deals(row.stage_id, spec.first_id, spec.last_id)
        deals = [(item.deal, item.problems) for item in fetched if item.deal.id in missing]
        for item in prepare_documents(services.ws, deals, row.template_id, crm=row.crm, batch_id=spec.batch_id):
            counts["errors" if item.error or item.record is None else "rendered"] += 1
    done = writeback.done_targets(services, [r.id for r in services.ws.ledger.list_batch(spec.batch_id)])
    for record in services.ws.ledger.list_batch(spec.batch_id, [Stage.QUARANTINED]):
        if (record.id, "quarantined") not in done:
            counts["quarantine_written_back"] += _write_back_quarantine(services, record)
    result = dict(counts)
    _save_counts(services, spec.batch_id, "prepare_resumed", result)
    return result


def _write_back_quarantine(services: Services, record: DocumentRecord) -> bool:
    text = comments.quarantined(comments.company_translator(services), record)
    try:
        return writeback.write_back(services, record, "quarantined", text)
    except EsignError as exc:  # the CRM write-back is retried by the next run; the document stays quarantined
        log.warning("document %s: quarantine write-back failed: %s", record.id, exc)
        return False


def sign_batch(services: Services, batch: dict[str, Any]) -> dict[str, int]:
    """Company-sign the batch's drafts; refuses a batch nobody approved."""
    return _sign_batch(services, BatchSpec.from_dict(batch))[0]


def _sign_batch(services: Services, spec: BatchSpec) -> tuple[dict[str, int], list[str]]:
    """``sign_batch``'s counts, and the drafts another worker held (that worker finishes them)."""
    approver = approval.approver(services, spec.batch_id)
    if approver is None:
        raise EsignError(f"batch {spec.batch_id}: not approved for the company signature")
    counts: Counter[str] = Counter()
    if services.config.dry_run:
        return {"dry_run": 1}, []
    services.ws.sealer  # noqa: B018  unusable keys stop the task here, before any draft is touched
    outcome = company_sign_documents(services.ws, services.ws.ledger.list_batch(spec.batch_id, [Stage.DRAFT]),
                                     approved_by=approver)
    for document_id, exc in outcome.failed.items():
        log.warning("document %s: company signature failed: %s", document_id, exc)
        fail_document(services.ws, document_id, exc)
    counts.update(signed=len(outcome.signed), failed=len(outcome.failed), busy=len(outcome.busy),
                  not_rendered=len(outcome.not_rendered))  # not rendered: a re-run of prepare renders it
    counts = +counts  # only what happened
    result = dict(counts)
    _save_counts(services, spec.batch_id, "sign", result)
    return result, outcome.busy


def dispatch_batch(services: Services, batch: dict[str, Any]) -> dict[str, int]:
    """Create the signing requests of each document's first signers, record their invitations in the outbox, send,
    and mark documents sent.

    A few transactions per batch, not per document: the batch's requests in one, their invitations in one
    (intent recorded before anything is sent), the accepted messages marked sent in one, and the documents
    moved to ``sent`` in one. The guarantees are those of the one-by-one calls they bundle. Later signers are
    invited by ``invitations.advance`` when their turn comes.
    """
    spec = BatchSpec.from_dict(batch)
    if services.config.dry_run:
        return {"dry_run": 1}
    counts: Counter[str] = Counter()
    records = services.ws.ledger.list_batch(spec.batch_id, [Stage.COMPANY_SIGNED])
    invitations.deliver(services, invitations.invite_due(services, records, counts), counts)
    counts.update(mark_sent(services, spec.batch_id))
    result = dict(counts)
    _save_counts(services, spec.batch_id, "dispatch", result)
    return result


def mark_sent(services: Services, batch_id: str | None = None) -> dict[str, int]:
    """Move company-signed documents whose invitation left (or may have left) to ``sent``.

    ``uncertain`` rows (a crash between the server accepting and the outbox recording) count as sent: sending
    again could deliver twice; reminders and an operator's resend cover a lost one. A document whose first signers'
    invitation failed for good fails. The moves are one transaction (conditional per document, one event each).
    """
    counts: Counter[str] = Counter()
    records = (services.ws.ledger.list_batch(batch_id, [Stage.COMPANY_SIGNED]) if batch_id
               else services.ws.ledger.list_by_stage(Stage.COMPANY_SIGNED))
    current = services.requests.current_for_documents([r.id for r in records])
    keys = [invitations.invite_key(q) for r in records for q in current.get(r.id, {}).values()]
    entries = services.outbox.get_many_by_key(keys)
    moves: list[tuple[str, EventInfo]] = []
    for record in records:
        found = [(q, entries[invitations.invite_key(q)]) for q in current.get(record.id, {}).values()
                 if invitations.invite_key(q) in entries]
        if not found:
            continue
        failed = [(q, e) for q, e in found if str(e.state) == "failed"]
        left = [(q, e) for q, e in found if str(e.state) in ("sent", "uncertain")]
        if failed:
            fail_document(services.ws, record.id, DispatchError(f"invitation not delivered: {failed[0][1].last_error}"))
            counts["undeliverable"] += 1
        elif left:
            request, entry = left[0]
            detail = ("enviado" if str(entry.state) == "sent"
                      else "envio incerto (falha durante o envio); lembretes cobrem")
            moves.append((record.id, EventInfo(actor="pipeline", channel=request.channel, detail=detail)))
    moved = services.ws.ledger.move_many(moves, Stage.COMPANY_SIGNED, Stage.SENT, "sent")
    if moved:
        counts["marked_sent"] += len(moved)
    return dict(counts)


def mark_awaiting(services: Services, batch: dict[str, Any]) -> dict[str, int]:
    """Move the deals of sent documents to the CRM's "awaiting signature" stage (once each)."""
    spec = BatchSpec.from_dict(batch)
    counts: Counter[str] = Counter()
    records = services.ws.ledger.list_batch(spec.batch_id, [Stage.SENT, Stage.VIEWED])
    ended = services.ws.ledger.list_batch(spec.batch_id, [Stage.FAILED, Stage.QUARANTINED])
    done = writeback.done_targets(services, [r.id for r in records + ended])
    requests = services.requests.latest_for_documents([r.id for r in records])
    items: list[tuple[DocumentRecord, str]] = []
    t = comments.company_translator(services)
    for record in records:
        if (record.id, "awaiting") in done:
            continue
        request = requests.get(record.id)
        items.append((record, comments.awaiting(t, record, bool(request and request.channel == Channel.EMAIL))))
    moved, refused, gone = writeback.write_back_many(services, items, "awaiting")
    if moved:
        counts["moved"] += moved
    for document_id, exc in refused.items():  # still pending: the next run tries again
        log.warning("document %s: could not move the deal to awaiting: %s", document_id, exc)
        counts["crm_errors"] += 1
    counts["crm_gone"] += len(gone)
    # a quarantine prepare could not write back (CRM refused, or its worker died first), and failures
    for stage, target in ((Stage.QUARANTINED, "quarantined"), (Stage.FAILED, "failed")):
        owed = [(r, comments.quarantined(t, r) if stage is Stage.QUARANTINED else comments.send_failed(t, r))
                for r in ended if r.stage is stage and (r.id, target) not in done]
        written, refused, gone = writeback.write_back_many(services, owed, target)
        counts[f"{target}_written_back"] += written
        counts["crm_gone"] += len(gone)
        for document_id, exc in refused.items():
            log.warning("document %s: could not write back %s: %s", document_id, target, exc)
            counts["crm_errors"] += 1
    counts = +counts  # drop the zeros
    result = dict(counts)
    _save_counts(services, spec.batch_id, "crm", result)
    return result


def deliver_batch(services: Services, batch: dict[str, Any]) -> dict[str, dict[str, int]]:
    """An approved batch to its clients: ``sign_batch``, ``dispatch_batch``, then ``mark_awaiting``; their counts.

    One task per batch, not one per step: each step only does what the ledger and the outbox do not show as done,
    so a retry after a failure in any of them resumes there; and Airflow pays for every task instance (a process,
    a DAG file parse, a dozen execution-API calls, the scheduler re-checking its dependencies every loop).
    """
    spec = BatchSpec.from_dict(batch)
    if _handed_over(services, spec):
        return {"sign": {"handed_over": 1}, "dispatch": {}, "crm": {}}
    signed, busy = _sign_batch(services, spec)
    done = {"sign": signed, "dispatch": dispatch_batch(services, batch), "crm": mark_awaiting(services, batch)}
    if not services.config.dry_run:
        _raise_if_owed(services, BatchSpec.from_dict(batch), done, set(busy))
    return done


def _handed_over(services: Services, spec: BatchSpec) -> bool:
    """True when another run took the batch over after this run planned it and nobody approved it yet: that run's
    approval covers it and its ``deliver`` finishes it, so this run leaves it instead of failing on "not approved"
    (two runs started together take over each other's fresh batches)."""
    if spec.run_id is None:
        return False
    row = resume.batch_row(services, spec.batch_id)
    if row is None or row.run_id == spec.run_id or row.approved_by is not None:
        return False
    log.warning("batch %s: taken over by run %s before its approval; left to that run", spec.batch_id, row.run_id)
    return True


def _raise_if_owed(services: Services, spec: BatchSpec, done: dict[str, dict[str, int]], busy: set[str]) -> None:
    """UnfinishedWorkError naming what the batch still owes that no other worker is doing right now.

    Not counted: drafts another worker is signing (``busy``), and company-signed documents whose invitation is in
    flight (``sending``: another worker's, or a dead one's in doubt until ``esign_collect`` reconciles it).
    """
    left = services.ws.ledger.list_batch(spec.batch_id, [Stage.DRAFT, Stage.COMPANY_SIGNED])
    current = services.requests.current_for_documents([r.id for r in left if r.stage is Stage.COMPANY_SIGNED])
    entries = services.outbox.get_many_by_key([invitations.invite_key(q) for requests in current.values()
                                               for q in requests.values()])
    drafts = sum(1 for r in left if r.stage is Stage.DRAFT and r.id not in busy)
    unsent = 0
    for record in left:
        if record.stage is not Stage.COMPANY_SIGNED:
            continue
        states = [str(e.state) for q in current.get(record.id, {}).values()
                  if (e := entries.get(invitations.invite_key(q))) is not None]
        unsent += "sending" not in states
    refused = done["crm"].get("crm_errors", 0)
    if drafts or unsent or refused:
        raise UnfinishedWorkError(
            f"batch {spec.batch_id}: {drafts} draft(s) not company-signed, {unsent} company-signed document(s) "
            f"whose invitation did not go out (relay down or refusing?), {refused} CRM write-back(s) refused; "
            "what was done is recorded, the task's retry or the next run finishes the rest")

