"""Everything the document page shows besides the document itself: its link, reminders and message history.

Contacts (the link's destination, the messages' recipients) are shown in full only to someone who may see the
parties' data; everyone else gets the masked form the client's own pages use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from esign.dispatch.channels import mask_destination
from esign.dispatch.records import OutboxEntry
from esign.pipeline.services import Services
from esign.register.resend import RESEND_WINDOW, RESENDS_PER_DAY
from esign.requests.records import RequestStatus, SigningRequest
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


def _is_staff_resend(entry: OutboxEntry, request_id: str) -> bool:
    return entry.dedupe_key.startswith((f"resend:{request_id}:", f"invite:{request_id}#resend-"))


def link_view(services: Services, record: DocumentRecord, entries: list[OutboxEntry], now: datetime,
              full_contacts: bool) -> LinkView | None:
    """The document's latest signing link with its schedule, or None when it never had one."""
    request = services.requests.for_document(record.id)
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

