"""The loop closes: once a document is sealed and verified, its client gets the final signed copy.

One outbox message per recipient under a fixed dedupe key (``final:<document_id>`` for the first client signer,
``final:<document_id>:signer:<n>`` for the other signers, ``final:<document_id>:cc:<n>`` for the document's copy
recipients, ``final:<document_id>:manager`` for the deal's responsible manager when the CRM gives an e-mail,
``final:<document_id>:copy`` for the company's copy address), recorded for every completed document that has none
yet: whichever run, retry or crash sealed it, the next wrap-up finds it and the key makes the intent exactly-once.
The PDF is attached up to ``final_copy_attach_max_kb``; a bigger one, or an SMS, gives the client's link, whose page
offers the download. ``final_copy_sent`` is recorded in the event log once the relay accepted a copy.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from esign.dispatch.channels import mask_destination
from esign.dispatch.email import Reader, build_final_copy
from esign.dispatch.outbox_schema import outbox
from esign.dispatch.records import Channel, MessageKind, OutboxState, OutgoingMessage, message_id_for
from esign.dispatch.sms import sms_final_copy_text
from esign.model import Stage
from esign.model.signers import copy_recipients
from esign.pipeline.services import Services
from esign.requests import RequestStatus, SigningRequest
from esign.requests.messages import client_reader
from esign.store import DocumentRecord, EventInfo
from esign.store.schema import documents, events

log = logging.getLogger(__name__)

ACTION = "final_copy_sent"
#: A copy accepted by the relay longer ago than this is not looked at again for its event (bounds the query).
RECORD_WINDOW = timedelta(days=7)
#: Documents completed longer ago than this are not looked at for a missing copy: every run (10 minutes apart)
#: catches up what the one before left, and the query stays on recent rows however big the ledger grows.
OWED_WINDOW = timedelta(days=30)


def client_key(document_id: str) -> str:
    return f"final:{document_id}"


def copy_key(document_id: str) -> str:
    return f"final:{document_id}:copy"


def manager_key(document_id: str) -> str:
    return f"final:{document_id}:manager"


def owed(services: Services, limit: int = 1000) -> list[DocumentRecord]:
    """Documents completed in the last ``OWED_WINDOW`` whose final file was verified and for which no final copy is
    recorded yet."""
    verified = select(events.c.id).where(events.c.document_id == documents.c.id, events.c.action == "verified")
    queued = select(outbox.c.id).where(outbox.c.document_id == documents.c.id,
                                       outbox.c.kind == MessageKind.FINAL_COPY.value)
    since = services.ws.ledger.now() - OWED_WINDOW
    query = (select(documents.c.id)
             .where(documents.c.stage == Stage.COMPLETED.value, documents.c.updated_at >= since,
                    verified.exists(), ~queued.exists())
             .order_by(documents.c.id).limit(limit))
    with services.ws.engine.connect() as conn:
        ids = [str(i) for i in conn.execute(query).scalars()]
    found = services.ws.ledger.bulk.get_many(ids)
    return [found[i] for i in ids if i in found]


def signer_key(document_id: str, position: int) -> str:
    """Signer 1's copy keeps the key documents of one signer always had."""
    return client_key(document_id) if position == 1 else f"final:{document_id}:signer:{position}"


def cc_key(document_id: str, position: int) -> str:
    return f"final:{document_id}:cc:{position}"


def messages_for(services: Services, record: DocumentRecord) -> list[OutgoingMessage]:
    """The final copy to every signer who signed, by the channel their link went by (the link's page offers the
    download); to the document's copy recipients and the responsible manager and the company's copy address, by
    e-mail."""
    signed = {p: q for p, q in services.requests.current_for_documents([record.id]).get(record.id, {}).items()
              if q.status is RequestStatus.SIGNED}
    if not signed:
        log.error("document %s: completed without a signed request; no final copy to send", record.id)
        return []
    ws = services.ws
    pdf = ws.version_path("final", record.id).read_bytes()
    attach = len(pdf) <= services.config.final_copy_attach_max_kb * 1024
    company = ws.company.party.name
    first = signed[min(signed)]
    staff_reader = client_reader(services, record, first.signer)
    staff = Reader(ws.company.translator(), "", staff_reader.company_contact)  # the company's people read its language
    verify_url = ws.settings.verify_url(record.id)
    # (key, request it belongs to, channel, destination, reader, link)
    recipients: list[tuple[str, SigningRequest, str, str, Reader, str]] = []
    for position, request in sorted(signed.items()):
        link = services.requests.link_for(request, ws.settings.public_url)
        recipients.append((signer_key(record.id, position), request, request.channel, request.destination,
                           client_reader(services, record, position), link))
    first_link = recipients[0][5]
    for spec in copy_recipients(record.stored_signers):
        if spec.email:  # a copy recipient has no link of their own: the PDF, or the public verification page
            recipients.append((cc_key(record.id, spec.position), first, Channel.EMAIL.value, spec.email,
                               Reader(ws.company.translator(spec.language or record.language or None), spec.name,
                                      staff.company_contact), verify_url))
    if record.manager_email:
        recipients.append((manager_key(record.id), first, Channel.EMAIL.value, record.manager_email, staff,
                           first_link))
    if ws.company.final_copy_to and ws.company.final_copy_to.lower() != record.manager_email.lower():
        recipients.append((copy_key(record.id), first, Channel.EMAIL.value, ws.company.final_copy_to, staff,
                           first_link))
    out: list[OutgoingMessage] = []
    for key, request, channel, destination, who, link in recipients:
        message_id = message_id_for(key)
        payload: bytes | str
        if channel == Channel.EMAIL:
            payload = build_final_copy(services.email_templates, from_addr=services.smtp.from_addr, to=destination,
                                       message_id=message_id, company_name=company, document_title=record.title,
                                       document_id=record.id, reader=who, link=link,
                                       verify_url=verify_url, pdf=pdf if attach else None)
        else:
            payload = sms_final_copy_text(company_name=company, document_title=record.title, link=link, t=who.t)
        out.append(OutgoingMessage(dedupe_key=key, document_id=record.id, request_id=request.id,
                                   kind=MessageKind.FINAL_COPY, channel=channel, destination=destination,
                                   message_id=message_id, payload=payload))
    return out


def send_final_copies(services: Services, limit: int = 1000) -> dict[str, int]:
    """Record the final copies owed (one transaction per document: all its recipients or none), send them now,
    and record the ones the relay accepted. A relay that is down leaves them pending for the next run."""
    if services.config.dry_run:
        return {}
    counts: Counter[str] = Counter()
    entry_ids: list[int] = []
    for record in owed(services, limit):
        try:
            found = services.outbox.enqueue_many(messages_for(services, record))
        except OSError as exc:
            log.error("document %s: the final file cannot be read for its final copy: %s", record.id, exc)
            counts["errors"] += 1
            continue
        entry_ids.extend(e.id for e in found if e.state is OutboxState.PENDING)
        counts["queued"] += len(found)
    if entry_ids:
        report = services.outbox.deliver_pending(services.senders(), limit=len(entry_ids), batch=entry_ids)
        counts.update(sent=report.sent, failed=report.failed, retried=report.retried, uncertain=report.uncertain)
    counts["recorded"] += record_sent(services)
    return {key: value for key, value in counts.items() if value}


def record_sent(services: Services) -> int:
    """Log ``final_copy_sent`` for every copy the relay accepted that the event log does not show yet (a copy sent
    by a later run's catch-up, or a run that stopped between the relay's answer and this step)."""
    since = services.outbox.now() - RECORD_WINDOW
    sent = (select(outbox.c.document_id, func.count().label("n"))
            .where(outbox.c.kind == MessageKind.FINAL_COPY.value, outbox.c.state == OutboxState.SENT.value,
                   outbox.c.sent_at >= since)
            .group_by(outbox.c.document_id).subquery())
    logged = (select(events.c.document_id, func.count().label("n")).where(events.c.action == ACTION)
              .group_by(events.c.document_id).subquery())
    behind = (select(sent.c.document_id).outerjoin(logged, logged.c.document_id == sent.c.document_id)
              .where(func.coalesce(logged.c.n, 0) < sent.c.n))
    with services.ws.engine.connect() as conn:
        doc_ids = [str(i) for i in conn.execute(behind).scalars()]
    new: list[tuple[str, str, EventInfo]] = []
    for doc_id in doc_ids:
        done = Counter(e.detail for e in services.ws.ledger.events(doc_id) if e.action == ACTION)
        for entry in services.outbox.entries(state=OutboxState.SENT, document_id=doc_id):
            if entry.kind != MessageKind.FINAL_COPY.value:
                continue
            detail = mask_destination(entry.channel, entry.destination)
            if done[detail] > 0:
                done[detail] -= 1
                continue
            new.append((doc_id, ACTION, EventInfo(actor="pipeline", channel=entry.channel, detail=detail)))
    services.ws.ledger.bulk.log_many(new)
    return len(new)
