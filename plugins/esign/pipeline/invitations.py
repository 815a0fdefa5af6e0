"""Invitations per signer: the first routing order when a batch is dispatched, the next order once the one before
answered, and a notice to the others when a required signer declined.

Each step reads the ledger for what is owed and does only that, whichever run (or the portal, right after an
answer) gets there first: a signer's request is created once (``SigningRequests.create_for_signers``), its
invitation is recorded once under ``invite:<request>`` and the outbox sends it once; the notice of a decline is
``declined:<document>:<position>``. A crash anywhere leaves either nothing or a recorded intent that the next call
finishes.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from esign.core.documents import fail_document
from esign.dispatch.channels import choose_channel
from esign.dispatch.records import OutboxEntry, OutboxState, OutgoingMessage
from esign.errors import DispatchError, EsignError
from esign.model import Stage
from esign.pipeline.services import Services
from esign.requests import RequestStatus, SigningRequest
from esign.requests.messages import declined_notice_message, invite_message
from esign.requests.progress import due
from esign.store import DocumentRecord
from esign.store.schema import documents

log = logging.getLogger(__name__)

#: Documents with several signers looked at per call (pages of this size, by ID).
PAGE = 500
#: A decline longer ago than this is not looked at for a missing notice (bounds the query; runs are minutes apart).
NOTICE_WINDOW = timedelta(days=30)


def invite_key(request: SigningRequest) -> str:
    return f"invite:{request.id}"


def notice_key(document_id: str, position: int) -> str:
    return f"declined:{document_id}:{position}"


def invite_due(services: Services, records: Sequence[DocumentRecord], counts: Counter[str]) -> list[int]:
    """Create the requests of the signers whose turn it is and record their invitations (once each); the outbox
    entries still to deliver. A signer no channel reaches fails the document (validation keeps such deals out)."""
    if not records:
        return []
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=services.config.link_valid_days)
    current = services.requests.current_for_documents([r.id for r in records])
    wanted: list[tuple[str, int, str, str]] = []
    live: list[DocumentRecord] = []
    for record in records:
        try:
            for signer in due(record.signers, current.get(record.id, {})):
                channel, destination = choose_channel(signer.email, signer.phone, services.config.channel)
                wanted.append((record.id, signer.position, channel, destination))
        except DispatchError as exc:
            fail_document(services.ws, record.id, exc)
            counts["failed"] += 1
            wanted = [w for w in wanted if w[0] != record.id]
            continue
        live.append(record)
    if wanted:
        services.requests.create_for_signers(wanted, expires)
        current = services.requests.current_for_documents([r.id for r in live])
    open_requests = [(record, request) for record in live for request in current.get(record.id, {}).values()
                     if request.status is RequestStatus.OPEN]
    entries = services.outbox.get_many_by_key([invite_key(q) for _r, q in open_requests])
    messages: list[OutgoingMessage] = []
    for record, request in open_requests:
        if invite_key(request) in entries:
            continue
        try:
            messages.append(invite_message(services, request, record))
        except DispatchError as exc:
            fail_document(services.ws, record.id, exc)
            counts["failed"] += 1
    recorded = _enqueue(services, messages, counts)
    entries.update({e.dedupe_key: e for e in recorded})
    return [e.id for e in entries.values() if e.state is OutboxState.PENDING]


def _enqueue(services: Services, messages: list[OutgoingMessage], counts: Counter[str]) -> list[OutboxEntry]:
    """Record the invitations in one transaction; if one is refused, each on its own (the others go on)."""
    try:
        return services.outbox.enqueue_many(messages)
    except DispatchError:
        pass
    recorded: list[OutboxEntry] = []
    for msg in messages:
        try:
            recorded.append(services.outbox.enqueue(msg))
        except DispatchError as exc:
            fail_document(services.ws, msg.document_id, exc)
            counts["failed"] += 1
    return recorded


def deliver(services: Services, entry_ids: list[int], counts: Counter[str]) -> None:
    if entry_ids:
        report = services.outbox.deliver_pending(services.senders(), limit=len(entry_ids), batch=entry_ids)
        counts.update({k: v for k, v in asdict(report).items() if v})


def several_signers(services: Services, stages: Sequence[Stage], after_id: str = "", limit: int = PAGE,
                    since: datetime | None = None) -> list[DocumentRecord]:
    """Documents in ``stages`` that store their signers (several, or a second company signer), by ID."""
    query = (select(documents.c.id)
             .where(documents.c.stage.in_([s.value for s in stages]), documents.c.signers_json != "[]",
                    documents.c.id > after_id)
             .order_by(documents.c.id).limit(limit))
    if since is not None:
        query = query.where(documents.c.updated_at >= since)
    with services.ws.engine.connect() as conn:
        ids = [str(i) for i in conn.execute(query).scalars()]
    found = services.ws.ledger.bulk.get_many(ids)
    return [found[i] for i in ids if i in found]


def advance(services: Services, document_ids: Sequence[str] | None = None) -> dict[str, int]:
    """Invite the signers whose turn came (the one before them answered), fail documents whose next signer's
    invitation could not be delivered, and tell the other signers of declined documents; the counts.

    ``document_ids``: only these (the portal, right after an answer); None: every document that may owe something.
    """
    counts: Counter[str] = Counter()
    if services.config.dry_run:
        return {}
    if document_ids is not None:
        found = services.ws.ledger.bulk.get_many(list(document_ids))
        pages = [[r for r in found.values() if r.stage in (Stage.SENT, Stage.VIEWED) and r.stored_signers]]
    else:
        pages = []
        after = ""
        while page := several_signers(services, (Stage.SENT, Stage.VIEWED), after):
            pages.append(page)
            after = page[-1].id
    for page in pages:
        entry_ids = invite_due(services, page, counts)
        deliver(services, entry_ids, counts)
        _fail_undeliverable(services, page, counts)
    notify_declined(services, counts, document_ids)
    return dict(+counts)


def _fail_undeliverable(services: Services, records: Sequence[DocumentRecord], counts: Counter[str]) -> None:
    """A signer's invitation the channel refused for good: the document cannot complete, it fails (and is written
    back as failed), as a first invitation that fails does."""
    current = services.requests.current_for_documents([r.id for r in records])
    open_requests = {invite_key(q): q for r in records for q in current.get(r.id, {}).values()
                     if q.status is RequestStatus.OPEN}
    for key, entry in services.outbox.get_many_by_key(list(open_requests)).items():
        if entry.state is OutboxState.FAILED:
            request = open_requests[key]
            try:
                fail_document(services.ws, request.document_id,
                              DispatchError(f"invitation of signer {request.signer} not delivered: "
                                            f"{entry.last_error}"))
            except EsignError as exc:  # moved meanwhile (the others answered, canceled): nothing to fail
                log.info("document %s: not failed for signer %s's invitation: %s", request.document_id,
                         request.signer, exc)
                continue
            counts["undeliverable"] += 1


def notify_declined(services: Services, counts: Counter[str], document_ids: Sequence[str] | None = None) -> None:
    """Tell every other invited signer of a document a required signer declined, once each."""
    since = services.ws.ledger.now() - NOTICE_WINDOW
    if document_ids is not None:
        found = services.ws.ledger.bulk.get_many(list(document_ids))
        records = [r for r in found.values() if r.stage is Stage.DECLINED and r.stored_signers]
    else:
        records = several_signers(services, (Stage.DECLINED,), limit=5000, since=since)
    if not records:
        return
    current = services.requests.current_for_documents([r.id for r in records])
    owed = [(record, request) for record in records for request in current.get(record.id, {}).values()
            if request.status is not RequestStatus.DECLINED]  # the one who declined knows
    known = services.outbox.get_many_by_key([notice_key(r.id, q.signer) for r, q in owed])
    todo = [declined_notice_message(services, q, r) for r, q in owed if notice_key(r.id, q.signer) not in known]
    if not todo:
        return
    recorded = services.outbox.enqueue_many(todo)
    counts["decline_notices"] += len(recorded)
    deliver(services, [e.id for e in recorded if e.state is OutboxState.PENDING], counts)
