"""The steps of a bulk send, one function per DAG task; each is idempotent and returns small counts.

plan -> prepare (validate + render) -> [director approves] -> deliver: company-sign -> request + dispatch -> CRM
awaiting. Batches are ID ranges of deals, so a task's input is a few numbers, never records.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from esign.access.approval import authorize_approval, login_for_responder
from esign.batch_documents import company_sign_documents, prepare_documents
from esign.dispatch.channels import choose_channel
from esign.dispatch.records import Channel, OutgoingMessage
from esign.documents import fail_document
from esign.errors import DispatchError, EsignError
from esign.model import Stage
from esign.pipeline import writeback
from esign.pipeline.messages import invite_message
from esign.pipeline.schema import batches
from esign.pipeline.services import Services
from esign.store import DocumentRecord, EventInfo
from esign.store.schema import documents

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BatchSpec:
    """A mapped task's whole input: which deals (an ID range) of which run."""

    batch_id: str
    first_id: int
    last_id: int
    count: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchSpec:
        return cls(str(data["batch_id"]), int(data["first_id"]), int(data["last_id"]), int(data["count"]))


def _chunks(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    it = iter(ids)
    while chunk := list(islice(it, size)):
        yield chunk


def plan_batches(services: Services, run_id: str) -> list[dict[str, Any]]:
    """Check the configuration against the CRM, then cut the trigger stage into ID-range batches."""
    config = services.config
    services.ws.templates.get(config.template)  # an unknown template fails here, before any deal
    config.stages.validate(services.crm.list_stages())
    limit = config.max_deals or None
    specs = []
    now = datetime.now(UTC)
    for n, ids in enumerate(_chunks(services.crm.iter_deal_ids(config.stages.trigger, limit=limit),
                                    config.batch_size)):
        spec = BatchSpec(f"{run_id}#{n:05d}", ids[0], ids[-1], len(ids))
        _record_batch(services, run_id, spec, now)
        specs.append(spec.to_dict())
    log.info("run %s: %d batches", run_id, len(specs))
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


def _write_back_quarantine(services: Services, record: DocumentRecord) -> None:
    comment = (f"Contrato não gerado: dados do negócio precisam de correção ({record.reason}). "
               f"Corrija e mova o negócio de volta para a etapa de preparação. Documento {record.id}.")
    try:
        writeback.write_back(services, record, "quarantined", comment)
    except EsignError as exc:  # the CRM write-back is retried by the next run; the document stays quarantined
        log.warning("document %s: quarantine write-back failed: %s", record.id, exc)


def summarize_run(services: Services, run_id: str, sample_size: int = 5) -> dict[str, Any]:
    """Counts and a sample of what the director is asked to approve; counted in SQL, so a 100,000-deal run
    costs the task a few rows, not every document."""
    run_batches = select(batches.c.id).where(batches.c.run_id == run_id)
    in_run = documents.c.batch_id.in_(run_batches.scalar_subquery())
    with services.ws.engine.connect() as conn:
        n_batches = len(conn.execute(run_batches).all())
        stages = {str(stage): int(n) for stage, n in
                  conn.execute(select(documents.c.stage, func.count()).where(in_run).group_by(documents.c.stage))}
        drafts = conn.execute(select(documents).where(in_run, documents.c.stage == Stage.DRAFT.value)
                              .order_by(documents.c.batch_id, documents.c.id).limit(sample_size)).all()
    sample = [{"document": r.id, "deal": r.deal_id, "title": r.title, "counterparty": r.counterparty_name}
              for r in map(DocumentRecord.from_row, drafts)]
    return {"run_id": run_id, "batches": n_batches, "stages": stages, "to_sign": stages.get("draft", 0),
            "sample": sample}


def approve_run(services: Services, run_id: str, approved_by: str, *, user: str | None = None) -> int:
    """Record who approved the run's batches for the company signature; the count of batches.

    Once permissions are configured, ``user`` must hold ``company.sign`` over every deal of the run, and is
    what gets recorded; otherwise :class:`~esign.access.AccessDeniedError` and nothing is approved.
    """
    approved_by = authorize_approval(services.ws.engine, user, _run_managers(services, run_id)) or approved_by
    now = datetime.now(UTC)
    with services.ws.engine.begin() as conn:
        result = conn.execute(batches.update().where(batches.c.run_id == run_id, batches.c.approved_by.is_(None))
                              .values(approved_by=approved_by, approved_at=now, updated_at=now))
    return int(result.rowcount or 0)


def summarize_for_approval(services: Services, run_id: str) -> tuple[dict[str, Any], bool]:
    """The run's summary for the director, and whether the configuration approves it instead (demo, tests)."""
    return summarize_run(services, run_id), services.config.auto_approve


def record_approval(services: Services, run_id: str, answered: bool, responder: str | None) -> int:
    """Record the approval: the director's (``responder`` is their Airflow login, mapped to an esign user whose
    rights are checked) when ``answered``, else the configuration's auto-approval. The count of batches."""
    if not answered:
        return approve_run(services, run_id, "auto-approve (configuration)")
    user = login_for_responder(services.ws.engine, responder)  # Airflow login -> esign user
    return approve_run(services, run_id, f"director:{responder or 'unknown'}", user=user)


def _run_managers(services: Services, run_id: str) -> list[str | None]:
    """The distinct responsible managers of the run's drafts: one query, however many documents the run has."""
    run_batches = select(batches.c.id).where(batches.c.run_id == run_id).scalar_subquery()
    query = (select(documents.c.manager_id).distinct()
             .where(documents.c.batch_id.in_(run_batches), documents.c.stage == Stage.DRAFT.value))
    with services.ws.engine.connect() as conn:
        return [row[0] for row in conn.execute(query)]


def _approver(services: Services, batch_id: str) -> str | None:
    with services.ws.engine.connect() as conn:
        return conn.execute(select(batches.c.approved_by).where(batches.c.id == batch_id)).scalar()


def sign_batch(services: Services, batch: dict[str, Any]) -> dict[str, int]:
    """Company-sign the batch's drafts; refuses a batch nobody approved."""
    spec = BatchSpec.from_dict(batch)
    approver = _approver(services, spec.batch_id)
    if approver is None:
        raise EsignError(f"batch {spec.batch_id}: not approved for the company signature")
    counts: Counter[str] = Counter()
    if services.config.dry_run:
        return {"dry_run": 1}
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
    return result


def dispatch_batch(services: Services, batch: dict[str, Any]) -> dict[str, int]:
    """Create each signing request, record its invitation in the outbox, send, and mark documents sent.

    A few transactions per batch, not per document: the batch's requests in one, their invitations in one
    (intent recorded before anything is sent), the accepted messages marked sent in one, and the documents
    moved to ``sent`` in one. The guarantees are those of the one-by-one calls they bundle.
    """
    spec = BatchSpec.from_dict(batch)
    if services.config.dry_run:
        return {"dry_run": 1}
    counts: Counter[str] = Counter()
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=services.config.link_valid_days)
    records = services.ws.ledger.list_batch(spec.batch_id, [Stage.COMPANY_SIGNED])
    requests = services.requests.latest_for_documents([r.id for r in records])
    wanted: list[tuple[str, str, str]] = []
    for record in records:
        if record.id in requests:
            continue
        try:
            channel, destination = choose_channel(record.counterparty_email, record.counterparty_phone,
                                                  services.config.channel)
        except DispatchError as exc:
            fail_document(services.ws, record.id, exc)
            counts["failed"] += 1
            continue
        wanted.append((record.id, channel.value, destination))
    if wanted:
        requests.update(services.requests.create_many(wanted, expires))
    messages = []
    for record in records:
        request = requests.get(record.id)
        if request is None:
            continue  # failed above
        try:
            messages.append(invite_message(services, request, record))
        except DispatchError as exc:
            fail_document(services.ws, record.id, exc)
            counts["failed"] += 1
    entry_ids = _enqueue(services, messages, counts)
    if entry_ids:
        report = services.outbox.deliver_pending(services.email_sender(), services.sms_gateway,
                                                 limit=len(entry_ids), batch=entry_ids)
        counts.update({k: v for k, v in asdict(report).items() if v})
    counts.update(mark_sent(services, spec.batch_id))
    result = dict(counts)
    _save_counts(services, spec.batch_id, "dispatch", result)
    return result


def _enqueue(services: Services, messages: list[OutgoingMessage], counts: Counter[str]) -> list[int]:
    """Record the invitations in one transaction; if one is refused, each on its own (the others go on)."""
    try:
        return [e.id for e in services.outbox.enqueue_many(messages)]
    except DispatchError:
        pass
    entry_ids: list[int] = []
    for msg in messages:
        try:
            entry_ids.append(services.outbox.enqueue(msg).id)
        except DispatchError as exc:
            fail_document(services.ws, msg.document_id, exc)
            counts["failed"] += 1
    return entry_ids


def mark_sent(services: Services, batch_id: str | None = None) -> dict[str, int]:
    """Move company-signed documents whose invitation left (or may have left) to ``sent``.

    ``uncertain`` rows (a crash between the server accepting and the outbox recording) count as sent: sending
    again could deliver twice; reminders and an operator's resend cover a lost one. The moves are one
    transaction (conditional per document, one event each).
    """
    counts: Counter[str] = Counter()
    records = (services.ws.ledger.list_batch(batch_id, [Stage.COMPANY_SIGNED]) if batch_id
               else services.ws.ledger.list_by_stage(Stage.COMPANY_SIGNED))
    requests = services.requests.latest_for_documents([r.id for r in records])
    entries = services.outbox.get_many_by_key([f"invite:{r.id}" for r in requests.values()])
    moves: list[tuple[str, EventInfo]] = []
    for record in records:
        request = requests.get(record.id)
        entry = entries.get(f"invite:{request.id}") if request is not None else None
        if request is None or entry is None:
            continue
        state = str(entry.state)
        if state in ("sent", "uncertain"):
            detail = "enviado" if state == "sent" else "envio incerto (falha durante o envio); lembretes cobrem"
            moves.append((record.id, EventInfo(actor="pipeline", channel=request.channel, detail=detail)))
        elif state == "failed":
            fail_document(services.ws, record.id, DispatchError(f"invitation not delivered: {entry.last_error}"))
            counts["undeliverable"] += 1
    moved = services.ws.ledger.move_many(moves, Stage.COMPANY_SIGNED, Stage.SENT, "sent")
    if moved:
        counts["marked_sent"] += len(moved)
    return dict(counts)


def mark_awaiting(services: Services, batch: dict[str, Any]) -> dict[str, int]:
    """Move the deals of sent documents to the CRM's "awaiting signature" stage (once each)."""
    spec = BatchSpec.from_dict(batch)
    counts: Counter[str] = Counter()
    records = services.ws.ledger.list_batch(spec.batch_id, [Stage.SENT, Stage.VIEWED])
    done = writeback.done_targets(services, [r.id for r in records])
    requests = services.requests.latest_for_documents([r.id for r in records])
    items: list[tuple[DocumentRecord, str]] = []
    for record in records:
        if (record.id, "awaiting") in done:
            continue
        request = requests.get(record.id)
        via = "e-mail" if request and request.channel == Channel.EMAIL else "SMS"
        items.append((record, f"Contrato {record.id} enviado para assinatura por {via}."))
    moved, refused = writeback.write_back_many(services, items, "awaiting")
    if moved:
        counts["moved"] += moved
    for document_id, exc in refused.items():  # still pending: the next run tries again
        log.warning("document %s: could not move the deal to awaiting: %s", document_id, exc)
        counts["crm_errors"] += 1
    for record in services.ws.ledger.list_batch(spec.batch_id, [Stage.FAILED]):
        if (record.id, "failed") not in done:
            try:
                writeback.write_back(services, record, "failed", f"Falha no envio do contrato: {record.reason}")
                counts["failed_written_back"] += 1
            except EsignError as exc:
                log.warning("deal %s: could not write back the failure: %s", record.deal_id, exc)
    result = dict(counts)
    _save_counts(services, spec.batch_id, "crm", result)
    return result


def deliver_batch(services: Services, batch: dict[str, Any]) -> dict[str, dict[str, int]]:
    """An approved batch to its clients: ``sign_batch``, ``dispatch_batch``, then ``mark_awaiting``; their counts.

    One task per batch, not one per step: each step only does what the ledger and the outbox do not show as done,
    so a retry after a failure in any of them resumes there; and Airflow pays for every task instance (a process,
    a DAG file parse, a dozen execution-API calls, the scheduler re-checking its dependencies every loop).
    """
    return {"sign": sign_batch(services, batch), "dispatch": dispatch_batch(services, batch),
            "crm": mark_awaiting(services, batch)}
