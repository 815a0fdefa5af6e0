"""Resending a signing link on a person's request: once per click burst, a few times a day at most.

Two clicks (or two people) within ``RESEND_WINDOW`` get the same message, not two: the earlier resend is
returned and nothing new is queued. Concurrent requests agree too: the n-th resend of a link has the fixed
dedupe key ``resend:<request>:<n>``, so the outbox records it once. At most ``RESENDS_PER_DAY`` resends per
link in 24 hours: a signer is not flooded, and a person clicking on is told when the next one is possible.
An invitation the relay refused, or that a crash left uncertain, is resent as itself (a new Message-ID).

A document with several signers has one link per signer: a resend goes to one signer's link (the one named, or
the first signer whose link is open), never to whoever had the document's latest request.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from esign.dispatch.email import replace_message_id
from esign.dispatch.records import Channel, OutboxEntry, OutboxState, message_id_for
from esign.errors import DispatchError
from esign.model import Stage
from esign.pipeline.services import Services
from esign.register.errors import LINK_EXPIRED, NO_LINK, NOT_WAITING, RESEND_LIMIT, ActionError
from esign.requests.records import RequestStatus, SigningRequest
from esign.requests.signer_states import states_for
from esign.store import DocumentRecord

RESEND_WINDOW = timedelta(minutes=5)
RESENDS_PER_DAY = 3
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Resend:
    """A resend recorded in the outbox; ``repeated``: an earlier one within the window, nothing new queued."""

    document_id: str
    entry_id: int
    repeated: bool
    queued_at: datetime
    signer_name: str = ""  # whose link, when the document has several signers (else the client's)


def current_request(services: Services, record: DocumentRecord, signer: int | None = None) -> SigningRequest | None:
    """The latest request of signer ``signer``; without one named, of the first signer whose link is open, else
    the document's latest request (None: no request yet)."""
    statuses = states_for(services.requests, record)
    if signer is not None:
        return next((s.request for s in statuses if s.position == signer), None)
    current = next((s.request for s in statuses if s.is_open), None)
    if current is not None:
        return current
    made = [s.request for s in statuses if s.request is not None]
    return max(made, key=lambda r: r.attempt) if made else None


def open_request(services: Services, record: DocumentRecord, now: datetime,
                 signer: int | None = None) -> SigningRequest:
    """The signer's signing link (see :func:`current_request`), when they can still use it; else why not."""
    if record.stage not in (Stage.SENT, Stage.VIEWED):
        raise ActionError(NOT_WAITING, id=record.id, stage=record.stage)
    request = current_request(services, record, signer)
    if request is None or request.status is not RequestStatus.OPEN:
        raise ActionError(NO_LINK, id=record.id)
    if request.expires_at <= now:
        raise ActionError(LINK_EXPIRED, id=record.id, when=request.expires_at)
    return request


def _name_of(record: DocumentRecord, position: int) -> str:
    try:
        return record.signer(position).name
    except KeyError:
        return ""


def _resends(services: Services, request: SigningRequest) -> list[OutboxEntry]:
    """Every resend of this link so far (staff resends and resent invitations), oldest first."""
    return [e for e in services.outbox.entries(document_id=request.document_id)
            if e.dedupe_key.startswith((f"resend:{request.id}:", f"invite:{request.id}#resend-"))]


def queue_resend(services: Services, record: DocumentRecord, now: datetime, signer: int | None = None) -> Resend:
    """Record the resend of one signer's link in the outbox (or find the one just made); raises ActionError when
    not allowed."""
    request = open_request(services, record, now, signer)
    whose = _name_of(record, request.signer) if len([s for s in record.signers if s.signs]) > 1 else ""
    earlier = _resends(services, request)
    if earlier and now - earlier[-1].created_at < RESEND_WINDOW:
        return Resend(record.id, earlier[-1].id, True, earlier[-1].created_at, whose)
    today = [e for e in earlier if now - e.created_at < _DAY]
    if len(today) >= RESENDS_PER_DAY:
        raise ActionError(RESEND_LIMIT, id=record.id, count=len(today), when=today[-RESENDS_PER_DAY].created_at + _DAY)
    invite = services.outbox.get_by_key(f"invite:{request.id}")
    if invite is not None and invite.state in (OutboxState.UNCERTAIN, OutboxState.FAILED):
        try:
            entry = services.outbox.resend(invite.id)
        except DispatchError:  # another request resent it a moment ago: that one is the resend
            entry = _resends(services, request)[-1]
            return Resend(record.id, entry.id, True, entry.created_at, whose)
    else:
        from esign.requests.messages import reminder_message

        key = f"resend:{request.id}:{len(earlier) + 1}"
        existing = services.outbox.get_by_key(key)
        if existing is not None:  # a concurrent click recorded it a moment ago
            return Resend(record.id, existing.id, True, existing.created_at, whose)
        reminders = sum(1 for e in services.outbox.entries(document_id=record.id)
                        if e.kind == "reminder" and e.request_id == request.id)
        message = reminder_message(services, request, record, reminders + 1)
        new_id = message_id_for(key)
        payload = message.payload
        if request.channel == Channel.EMAIL and isinstance(payload, bytes):
            payload = replace_message_id(payload, new_id)
        entry = services.outbox.enqueue(replace(message, dedupe_key=key, message_id=new_id, payload=payload))
    return Resend(record.id, entry.id, False, entry.created_at, whose)
