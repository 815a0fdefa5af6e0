"""Plain data of the dispatch area: what to send, the outbox rows, delivery outcomes.

Kept apart from the outbox and the senders so both can use them without importing each other.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from esign.errors import DispatchError


class Channel(StrEnum):
    """The built-in channels' names; every channel, these included, is registered in :mod:`esign.dispatch.registry`
    and a row's ``channel`` is any registered name."""

    EMAIL = "email"
    SMS = "sms"


class MessageKind(StrEnum):
    INVITE = "invite"
    REMINDER = "reminder"
    CODE = "code"
    NOTICE = "notice"
    FINAL_COPY = "final_copy"  # the sealed document, to the client (and the company's copy address)


class OutboxState(StrEnum):
    """``sending`` is claimed by a worker; ``uncertain`` means the server may or may not have it."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNCERTAIN = "uncertain"


def message_id_for(dedupe_key: str, domain: str = "esign.local") -> str:
    """A Message-ID fixed by the intent, so every attempt of one message carries the same ID."""
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A finished message to record in the outbox. ``payload`` is email bytes or the SMS text."""

    dedupe_key: str
    document_id: str
    request_id: str
    kind: MessageKind | str
    channel: Channel | str
    destination: str
    message_id: str
    payload: bytes | str


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One outbox row as plain data."""

    id: int
    dedupe_key: str
    document_id: str
    request_id: str
    kind: str
    channel: str
    destination: str
    message_id: str
    payload: bytes
    state: OutboxState
    attempts: int
    last_error: str | None
    provider_ref: str | None
    resend_of: int | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None

    @property
    def text(self) -> str:
        """The payload as text (the SMS body; an email's serialised source)."""
        return self.payload.decode("utf-8")

    @classmethod
    def from_row(cls, row: Any) -> OutboxEntry:
        m = row._mapping
        return cls(
            id=m["id"], dedupe_key=m["dedupe_key"], document_id=m["document_id"], request_id=m["request_id"],
            kind=m["kind"], channel=str(m["channel"]), destination=m["destination"],
            message_id=m["message_id"], payload=bytes(m["payload"]), state=OutboxState(m["state"]),
            attempts=m["attempts"], last_error=m["last_error"], provider_ref=m["provider_ref"],
            resend_of=m["resend_of"], created_at=_utc(m["created_at"]), updated_at=_utc(m["updated_at"]),
            sent_at=_utc(m["sent_at"]) if m["sent_at"] is not None else None,
        )  # fmt: skip


def _utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; the outbox stores UTC only."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one ``deliver_pending`` call did. ``retried`` rows are pending again; ``uncertain`` need a human."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    uncertain: int = 0


class DeliveryError(DispatchError):
    """A channel refused or could not take one message; says what the outbox should do with the row.

    ``retryable``: the message was certainly not accepted and may be sent again later.
    ``uncertain``: the connection broke after the message was handed over, so it may have been accepted;
    it must not be re-sent automatically.
    ``channel_down``: the server cannot be reached at all; later messages of the batch would fail the same way.
    """

    def __init__(self, reason: str, *, retryable: bool, uncertain: bool = False, channel_down: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable and not uncertain
        self.uncertain = uncertain
        self.channel_down = channel_down
