"""The steps of a collect run: finalize what clients signed, write results back, remind, expire.

Each step is idempotent: it reads the ledger for what still needs doing and does only that, whichever run left it.
The wrap-up first delivers what earlier runs left in the outbox and finishes approved batches a dead send run left
(so the CRM hears of those in this same run), then writes back, and fails loudly (after recording everything it
did) when work is still owed: the ops e-mail says what, the next run retries it.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from esign.core.batch_documents import RECORD_EVERY
from esign.core.batch_finalize import finalize_documents as seal_documents
from esign.core.documents import fail_document
from esign.dispatch.records import Channel, MessageKind
from esign.errors import UnfinishedWorkError
from esign.model import Stage
from esign.pipeline import comments, final_copy, invitations, resume, writeback
from esign.pipeline.send import BatchSpec, deliver_batch, mark_sent, prepare_resumed
from esign.pipeline.services import Services
from esign.requests.messages import reminder_message
from esign.store import DocumentRecord, EventInfo
from esign.store.bulk import chunks
from esign.verify import verify_pdf

log = logging.getLogger(__name__)

#: A row left ``sending`` this long is from a crashed worker: reconciled, never re-sent blindly. An approved batch
#: no send run has touched for this long was left by a dead run: this run finishes it.
STALE_SENDING = timedelta(minutes=15)
#: A one-time code still pending this long was never handed to the relay (the portal stopped): never sent.
STALE_CODE = timedelta(minutes=5)
#: Kinds a batch run delivers; one-time codes go out only while the client waits (the portal), never later.
BATCH_KINDS = (MessageKind.INVITE, MessageKind.REMINDER, MessageKind.NOTICE, MessageKind.FINAL_COPY)


def recover(services: Services) -> dict[str, int]:
    """Repair what a crash may have left half done: outbox rows, sent marks."""
    stale = services.outbox.reconcile_stale(STALE_SENDING)
    codes = services.outbox.abandon_stale(MessageKind.CODE, STALE_CODE, "never handed to the relay while the "
                                          "client waited (the portal stopped); a late code is of no use")
    sent = mark_sent(services)
    return {"uncertain": len(stale), "codes_abandoned": len(codes), **sent}


#: Documents per finalize task: few task instances on a big run (each costs the orchestrator a start-up and a
#: hand-over, ~1 s on two cores), at least two per worker so both keep busy. A retry redoes little whatever the
#: size: sealed documents are recorded every ``RECORD_EVERY`` and skipped by the retry.
FINALIZE_CHUNK_MIN, FINALIZE_CHUNK_MAX = 50, 2500


def finalize_chunk_size(total: int, workers: int = 2) -> int:
    """Equal chunks, as many as a multiple of ``workers`` (so no worker idles through a last short chunk), at least
    two per worker, each between FINALIZE_CHUNK_MIN and FINALIZE_CHUNK_MAX documents."""
    workers = max(workers, 1)
    chunks = max(2 * workers, -(-total // FINALIZE_CHUNK_MAX))
    chunks = -(-chunks // workers) * workers
    return max(FINALIZE_CHUNK_MIN, min(FINALIZE_CHUNK_MAX, -(-total // chunks)))


def signed_ranges(services: Services, workers: int = 2) -> list[dict[str, Any]]:
    """The client-signed documents cut into ID ranges ``(after, upto]``: a mapped finalize task's whole input.

    IDs are read a page at a time, so a run with 100,000 signed documents holds one page, not all of them.
    """
    ledger = services.ws.ledger
    size = finalize_chunk_size(ledger.stage_counts().get(Stage.CLIENT_SIGNED.value, 0), workers)
    ranges: list[dict[str, Any]] = []
    after = ""
    while page := ledger.list_by_stage(Stage.CLIENT_SIGNED, limit=size, after_id=after):
        ranges.append({"after": after, "upto": page[-1].id, "count": len(page)})
        after = page[-1].id
    return ranges


def finalize_range(services: Services, id_range: dict[str, Any]) -> dict[str, int]:
    """``finalize_documents`` for the client-signed documents in one ``signed_ranges`` range."""
    ids = [r.id for r in services.ws.ledger.list_by_stage(Stage.CLIENT_SIGNED, limit=FINALIZE_CHUNK_MAX * 2,
                                                          after_id=str(id_range["after"]),
                                                          upto_id=str(id_range["upto"]))]
    return finalize_documents(services, ids)


def start_run(services: Services) -> list[dict[str, Any]]:
    """The first task of a collect run: repair (``recover``), expire overdue links, then cut the work into ranges."""
    recovered = recover(services)
    expired = expire_requests(services)
    ranges = signed_ranges(services)
    log.info("collect: recovered %s, expired %s, %d finalize ranges (%d documents)", recovered, expired,
             len(ranges), sum(int(r["count"]) for r in ranges))
    return ranges


def wrap_up(services: Services) -> dict[str, dict[str, int]]:
    """The last task of a collect run: catch up on deliveries earlier runs left (pending messages, approved batches
    of a dead send run), then write back endings, send the final signed copies, invite the signers whose turn came
    (and tell the others of a decline), remind, evaluate rules, deliver what those queued.

    Raises UnfinishedWorkError at the end, everything else done, when work is still owed (see ``owed_after``).
    """
    summary = {"catch_up": deliver_leftovers(services)}
    summary["resume"], failures = resume_idle_batches(services)
    summary["write_back"] = write_back_endings(services)
    summary["final_copy"] = final_copy.send_final_copies(services)
    summary["signers"] = invitations.advance(services)
    summary["remind"] = send_reminders(services)
    summary["rules"] = evaluate_rules(services)
    summary["leftovers"] = deliver_leftovers(services)
    owed = owed_after(summary) + failures
    if owed:
        raise UnfinishedWorkError("collect: " + "; ".join(owed) + " (everything else was done)")
    return summary


def owed_after(summary: dict[str, dict[str, int]]) -> list[str]:
    """What a wrap-up could not finish, in words: messages still pending, CRM write-backs refused."""
    owed = []
    pending = summary["leftovers"].get("retried", 0) + summary["remind"].get("retried", 0)
    if pending:
        owed.append(f"{pending} message(s) still pending (relay down or refusing for now)")
    refused = sum(v for k, v in summary["write_back"].items() if k in ("crm_errors", "signed_errors"))
    if refused:
        owed.append(f"{refused} CRM write-back(s) or final-file check(s) failed")
    return owed


def resume_idle_batches(services: Services) -> tuple[dict[str, int], list[str]]:
    """Finish the approved batches no send run has touched for ``STALE_SENDING`` (sign, send, CRM awaiting), with
    the approval they have. Batches nobody approved wait for a send run's approval: never signed here."""
    counts: Counter[str] = Counter()
    failures: list[str] = []
    if services.config.dry_run:
        return {}, failures
    for batch in resume.idle_approved(services, STALE_SENDING):
        spec = batch.spec()
        counts["batches"] += 1
        prepare_resumed(services, BatchSpec.from_dict(spec))
        try:
            done = deliver_batch(services, spec)
        except UnfinishedWorkError as exc:
            failures.append(str(exc))
            continue
        counts["signed"] += done["sign"].get("signed", 0)
        counts["sent"] += done["dispatch"].get("marked_sent", 0)
    return dict(counts), failures


def finalize_documents(services: Services, document_ids: list[str]) -> dict[str, int]:
    """Seal the signed documents, verify each sealed file, attach it to the deal and move the deal to "signed".

    A group of ``RECORD_EVERY`` documents at a time: sealed and recorded together (``esign.core.batch_finalize``),
    then verified and written back together, so the CRM hears of each group as soon as it is sealed.
    Documents already completed (a write-back a crash or the CRM interrupted) are only verified and written back.
    """
    counts: Counter[str] = Counter()
    ws = services.ws
    if not document_ids:
        return {}
    ws.sealer  # noqa: B018 -- keys that cannot be loaded (passphrase, expiry) stop the task, failing no document
    written_back = writeback.done_targets(services, document_ids)  # one query for the chunk, not one per document
    for group in chunks(document_ids, RECORD_EVERY):
        records = ws.ledger.bulk.get_many(group)
        signed = [i for i in group if i in records and records[i].stage is Stage.CLIENT_SIGNED]
        outcome = seal_documents(ws, signed, services.requests.evidence_many)
        counts["finalized"] += len(outcome.completed)
        counts["busy"] += len(outcome.busy)  # another worker is sealing them right now and will finish them
        for doc_id, exc in outcome.failed.items():
            log.warning("document %s: finalize failed: %s", doc_id, exc)
            counts["errors"] += 1
            if ws.ledger.get(doc_id).stage is Stage.CLIENT_SIGNED:
                fail_document(ws, doc_id, exc)
        sealed = set(outcome.completed)
        ready = [i for i in group if (i in sealed or (i in records and records[i].stage is Stage.COMPLETED))
                 and (i, "signed") not in written_back]
        _verify_and_write_back(services, [records[i] for i in ready], counts)
    return {key: value for key, value in counts.items() if value}


def _verify_and_write_back(services: Services, records: list[DocumentRecord], counts: Counter[str]) -> None:
    """Validate each final file (hash in the ledger, signatures, trust) and attach the good ones to their deals."""
    ws = services.ws
    verified: list[tuple[str, str, EventInfo]] = []
    items: list[tuple[DocumentRecord, str]] = []
    files: dict[str, list[tuple[str, bytes]]] = {}
    t = comments.company_translator(services)
    linked = services.config.attach == "link"
    for record in records:
        doc_id = record.id
        try:
            data = ws.version_path("final", doc_id).read_bytes()
        except OSError as error:
            log.error("document %s: the final file cannot be read: %s", doc_id, error)
            counts["errors"] += 1
            continue
        verdict = verify_pdf(data, ws.ledger, ws.trust_roots)
        if not verdict.authentic:
            log.warning("document %s: the sealed file does not verify: %s", doc_id, "; ".join(verdict.reason_texts()))
            counts["errors"] += 1
            continue
        verified.append((doc_id, "verified", EventInfo(actor="pipeline", detail=f"sha256 {verdict.sha256}")))
        if linked:
            items.append((record, comments.signed(t, record, verdict.sha256, ws.settings.verify_url(doc_id),
                                                  final_file_url(services, doc_id))))
        else:
            items.append((record, comments.signed(t, record, verdict.sha256, ws.settings.verify_url(doc_id))))
            files[doc_id] = [(f"{doc_id}.pdf", data)]
    ws.ledger.bulk.log_many(verified)
    written, refused, gone = writeback.write_back_many(services, items, "signed", files)
    counts["written_back"] += written
    counts["crm_gone"] += len(gone)  # the deal was deleted in the CRM: logged, nothing more owed
    for doc_id, refusal in refused.items():
        log.warning("document %s: the CRM refused the \"signed\" write-back: %s", doc_id, refusal)
        counts["errors"] += 1


def write_back_endings(services: Services, limit: int = 5000) -> dict[str, int]:
    """Declined, expired, failed, quarantined and completed documents not written back yet: tell the CRM once each,
    a whole target at a time (Bitrix24: moves, and comments in ``link`` mode, 50 per request).

    Also what an earlier step left undone: completed documents whose "signed" write-back a crash or a CRM
    failure interrupted (finalize only looks at ``client_signed`` ones), and sent documents whose deal never
    moved to "awaiting" (their invitation left in a later run, or that run's CRM call failed).
    """
    counts: Counter[str] = Counter()
    t = comments.company_translator(services)
    waiting = writeback.not_written_back(services, (Stage.SENT, Stage.VIEWED), "awaiting", limit)
    requests = services.requests.latest_for_documents([r.id for r in waiting])
    _write_back_target(services, "awaiting", [
        (r, comments.awaiting(t, r, bool((q := requests.get(r.id)) and q.channel == Channel.EMAIL)))
        for r in waiting], counts)
    completed = [r.id for r in writeback.not_written_back(services, (Stage.COMPLETED,), "signed", limit)]
    if completed:
        counts.update({f"signed_{k}": v for k, v in finalize_documents(services, completed).items()})
    for stage, target in ((Stage.DECLINED, "declined"), (Stage.EXPIRED, "expired"), (Stage.FAILED, "failed"),
                          (Stage.QUARANTINED, "quarantined")):
        items = []
        for record in writeback.not_written_back(services, (stage,), target, limit):  # only what is owed
            items.append((record, comments.declined(t, record, *_decline_reason(services, record))
                          if target == "declined" else comments.expired(t, record) if target == "expired"
                          else comments.failed(t, record) if target == "failed" else comments.quarantined(t, record)))
        _write_back_target(services, target, items, counts)
    return dict(counts)


def _write_back_target(services: Services, target: str, items: list[tuple[DocumentRecord, str]],
                       counts: Counter[str]) -> None:
    written, refused, gone = writeback.write_back_many(services, items, target)
    counts[target] += written
    counts["crm_gone"] += len(gone)  # deals deleted in the CRM: logged, nothing more owed
    for doc_id, exc in refused.items():
        log.warning("document %s: write-back %s failed: %s", doc_id, target, exc)
        counts["crm_errors"] += 1
    for key in (target, "crm_gone", "crm_errors"):
        if not counts[key]:
            del counts[key]


def final_file_url(services: Services, document_id: str) -> str:
    """Where staff download the final PDF (the staff pages, behind their login and permissions)."""
    return f"{services.ws.settings.public_url}/staff/documents/{document_id}/files/final"


def _decline_reason(services: Services, record: DocumentRecord) -> tuple[str, str]:
    """The reason given, and who gave it when the document has several signers (else empty)."""
    request = services.requests.decline_of(record.id)
    reason = (request.decline_reason if request else None) or record.reason or "-"
    several = request is not None and len([s for s in record.signers if s.signs]) > 1
    return reason, (record.signer(request.signer).name if several and request is not None else "")


def send_reminders(services: Services, now: datetime | None = None) -> dict[str, int]:
    """Remind clients who have not signed after ``reminder_after_days``, at most ``max_reminders`` times."""
    config = services.config
    if config.max_reminders == 0 or config.dry_run:
        return {}
    now = now or datetime.now(UTC)
    every = timedelta(days=config.reminder_after_days)
    entry_ids: list[int] = []
    for request in services.requests.pending(older_than=every):
        record = services.ws.ledger.get(request.document_id)
        if record.stage not in (Stage.SENT, Stage.VIEWED):
            continue
        earlier = [e for e in services.outbox.entries(document_id=record.id)
                   if str(e.kind) == MessageKind.REMINDER and e.request_id == request.id]
        # reminder n is due n * every after the link was created; a late run sends one, never a burst
        due = min(int((now - request.created_at) / every), config.max_reminders)
        if len(earlier) >= due:
            continue
        entry = services.outbox.enqueue(reminder_message(services, request, record, len(earlier) + 1))
        services.ws.ledger.log(record.id, "reminder_queued",
                               EventInfo(actor="pipeline", channel=request.channel, detail=f"#{len(earlier) + 1}"))
        entry_ids.append(entry.id)
    counts: dict[str, Any] = {"queued": len(entry_ids)}
    if entry_ids:
        report = services.outbox.deliver_pending(services.senders(), limit=len(entry_ids), batch=entry_ids)
        counts.update(sent=report.sent, failed=report.failed, retried=report.retried)
    return counts


def expire_requests(services: Services, now: datetime | None = None) -> dict[str, int]:
    """Close links past their deadline; their documents become ``expired`` (written back by the next step)."""
    return {"expired": len(services.requests.expire_due(now))}


def deliver_leftovers(services: Services, limit: int = 1000) -> dict[str, int]:
    """Send outbox rows a failed or retried run left pending (SMTP was down, a 4xx, ...); never one-time codes."""
    report = services.outbox.deliver_pending(services.senders(), limit=limit,
                                             kinds=BATCH_KINDS)
    counts = {"sent": report.sent, "failed": report.failed, "retried": report.retried}
    counts.update({f"after_{k}": v for k, v in mark_sent(services).items()})
    recorded = final_copy.record_sent(services)
    if recorded:
        counts["final_copies_recorded"] = recorded
    return counts


def evaluate_rules(services: Services, now: datetime | None = None) -> dict[str, int]:
    """Fire the automation rules (``config/rules.yaml``), each once per trigger occurrence."""
    from esign.rules.config import load_rules
    from esign.rules.engine import evaluate

    return evaluate(services, load_rules(services.ws.settings.rules_file), now)
