"""Everything the document page shows besides the document itself: its signers, links, reminders and messages.

Contacts (the link's destination, the messages' recipients) are shown in full only to someone who may see the
parties' data; everyone else gets the masked form the client's own pages use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from esign.dispatch.channels import mask_destination
from esign.dispatch.records import Channel, OutboxEntry
from esign.model.signers import SignerSpec
from esign.pipeline.services import Services
from esign.register.resend import RESEND_WINDOW, RESENDS_PER_DAY, current_request
from esign.requests.records import RequestStatus, SigningRequest
from esign.requests.signer_states import SignerStatus, copies
from esign.store import DocumentRecord


@dataclass(frozen=True, slots=True)
class LinkView:
    request: SigningRequest
    destination: str
    expired: bool
    automatic_reminders: int
    max_reminders: int
    next_reminder: datetime | None
    staff_resends_today: int
    resends_per_day: int = RESENDS_PER_DAY
    resend_window_minutes: int = int(RESEND_WINDOW.total_seconds() // 60)


@dataclass(frozen=True, slots=True)
class MessageView:
    entry: OutboxEntry
    destination: str


@dataclass(frozen=True, slots=True)
class SignerView:
    """One row of the document's signers: who, as what, how reached (masked unless the reader may see the
    parties), where they stand, and whether their link may be resent now."""

    status: SignerStatus
    contact: str
    resendable: bool


@dataclass(frozen=True, slots=True)
class CopyView:
    spec: SignerSpec
    contact: str


def _contact(spec: SignerSpec, request: SigningRequest | None, full: bool) -> str:
    """The signer's link destination (else their e-mail, else phone), in full or masked."""
    if request is not None:
        return request.destination if full else request.masked_destination
    if spec.email:
        return spec.email if full else mask_destination(Channel.EMAIL.value, spec.email)
    if spec.phone:
        return spec.phone if full else mask_destination(Channel.SMS.value, spec.phone)
    return ""


def signer_views(statuses: list[SignerStatus], now: datetime, full_contacts: bool,
                 may_resend: bool) -> list[SignerView]:
    """Every signing person of the document, by position; ``may_resend``: the document's stage and the reader's
    rights allow a resend (each open, unexpired link then gets its own button)."""
    return [SignerView(s, _contact(s.spec, s.request, full_contacts),
                       may_resend and s.is_open and s.request is not None and s.request.expires_at > now)
            for s in statuses]


def copy_views(record: DocumentRecord, full_contacts: bool) -> list[CopyView]:
    return [CopyView(spec, _contact(spec, None, full_contacts)) for spec in copies(record)]


def _is_staff_resend(entry: OutboxEntry, request_id: str) -> bool:
    return entry.dedupe_key.startswith((f"resend:{request_id}:", f"invite:{request_id}#resend-"))


def link_view(services: Services, record: DocumentRecord, entries: list[OutboxEntry], now: datetime,
              full_contacts: bool) -> LinkView | None:
    """The current signing link (the first signer whose link is open, else the latest one) with its schedule,
    or None when the document never had one."""
    request = current_request(services, record)
    if request is None:
        return None
    config = services.config
    automatic = sum(1 for e in entries if e.request_id == request.id and e.dedupe_key.startswith("reminder:"))
    next_reminder = None
    if request.status is RequestStatus.OPEN and automatic < config.max_reminders:
        due = request.created_at + timedelta(days=config.reminder_after_days) * (automatic + 1)
        next_reminder = due if due < request.expires_at else None
    resends = sum(1 for e in entries if _is_staff_resend(e, request.id) and now - e.created_at < timedelta(days=1))
    shown = request.destination if full_contacts else request.masked_destination
    return LinkView(request, shown, request.expires_at <= now, automatic, config.max_reminders, next_reminder,
                    resends)


def message_views(entries: list[OutboxEntry], full_contacts: bool) -> list[MessageView]:
    """Every message sent (or meant) for the document, newest first; code messages included, never their code."""
    views = [MessageView(e, e.destination if full_contacts else mask_destination(e.channel, e.destination))
             for e in entries]
    return sorted(views, key=lambda v: v.entry.id, reverse=True)

