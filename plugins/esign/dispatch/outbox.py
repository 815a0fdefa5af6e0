"""The outbox: messages are recorded before they are sent, sent once, then marked sent.

Email and SMS are not transactional, so exactly-once is built from three steps:
``enqueue`` records the intent under a unique dedupe key with the finished message and a fixed Message-ID;
a claim moves a row ``pending -> sending`` with one conditional UPDATE, so two workers never take the same row;
after the server answers the row is marked ``sent``/``failed`` or put back to ``pending``. A worker that dies
between the server accepting a message and marking it leaves that one row ``sending`` (one message in flight at a
time, :mod:`esign.dispatch.delivery`); ``reconcile_stale`` turns it ``uncertain`` and nothing re-sends it
automatically: reminders or an operator's explicit ``resend`` cover it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from esign.dispatch.channels import mask_destination
from esign.dispatch.delivery import deliver, pending_rows
from esign.dispatch.email import replace_message_id
from esign.dispatch.outbox_schema import outbox
from esign.dispatch.records import (
    DeliveryReport,
    MessageKind,
    OutboxEntry,
    OutboxState,
    OutgoingMessage,
    message_id_for,
)
from esign.dispatch.registry import Sender, channel, find_channel
from esign.errors import ConfigError, DispatchError

log = logging.getLogger(__name__)

_MAX_ERROR = 2000


def utcnow() -> datetime:
    return datetime.now(UTC)


class Outbox:
    """Reads and writes the ``outbox`` table through one engine; every write is one short transaction."""

    def __init__(self, engine: Engine, *, max_attempts: int = 5, clock: Callable[[], datetime] = utcnow) -> None:
        if max_attempts < 1:
            raise ConfigError(f"outbox max_attempts: must be at least 1 (got {max_attempts})")
        self.engine = engine
        self.max_attempts = max_attempts
        self._clock = clock

    # -- recording intent ---------------------------------------------------------------------------
    def enqueue(self, msg: OutgoingMessage) -> OutboxEntry:
        """Record a message to send; a second call with the same dedupe key returns the first row unchanged."""
        existing = self.get_by_key(msg.dedupe_key)
        if existing is not None:
            return existing
        stmt = insert(outbox).values(**_new_row(msg, self._clock())).returning(*outbox.c)
        try:
            with self.engine.begin() as conn:
                row = conn.execute(stmt).one()
        except IntegrityError:
            existing = self.get_by_key(msg.dedupe_key)
            if existing is None:
                raise
            return existing  # another worker recorded the same intent first
        return OutboxEntry.from_row(row)

    def enqueue_many(self, messages: Sequence[OutgoingMessage]) -> list[OutboxEntry]:
        """``enqueue`` for a batch in one read and one transaction; entries in the order of ``messages``.

        Same guarantees: idempotent on each dedupe key (rows that exist are returned unchanged, never rewritten).
        A message that fails validation raises before anything is written. If another worker recorded one of
        the same intents meanwhile, the batch insert rolls back as a whole and each message is recorded (or
        read back) on its own, exactly as ``enqueue`` does.
        """
        if not messages:
            return []
        keys = [m.dedupe_key for m in messages]
        if len(set(keys)) != len(keys):
            raise DispatchError("outbox: the same dedupe key twice in one batch")
        found = self.get_many_by_key(keys)
        now = self._clock()
        rows: list[dict[str, object]] = []
        for msg in messages:
            if msg.dedupe_key not in found:
                rows.append(_new_row(msg, now))
        if rows:
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(outbox), rows)
            except IntegrityError:  # a concurrent worker recorded one of them: one by one, as enqueue does
                return [self.enqueue(m) for m in messages]
            found = self.get_many_by_key(keys)
        return [found[k] for k in keys]

    def get_many_by_key(self, keys: Sequence[str]) -> dict[str, OutboxEntry]:
        """Rows for these dedupe keys (the ones that exist), by key; one query per 500 keys."""
        found: dict[str, OutboxEntry] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), 500):  # stay under every driver's bound-parameter limit
                chunk = list(keys[start:start + 500])
                for row in conn.execute(select(outbox).where(outbox.c.dedupe_key.in_(chunk))):
                    entry = OutboxEntry.from_row(row)
                    found[entry.dedupe_key] = entry
        return found

    # -- claiming and outcomes ----------------------------------------------------------------------
    def claim(
        self, batch: Sequence[int] | None = None, limit: int = 100, *, channels: Collection[str] | None = None
    ) -> list[OutboxEntry]:
        """Move up to ``limit`` pending rows (optionally only these ids / channels) to ``sending``, oldest first.

        One conditional UPDATE: a row another worker took in the meantime is no longer ``pending`` and is
        skipped. On PostgreSQL the inner SELECT also uses ``FOR UPDATE SKIP LOCKED`` so workers do not wait.
        Each claim counts as one attempt.
        """
        if limit <= 0 or (batch is not None and not batch) or (channels is not None and not channels):
            return []
        pick = select(outbox.c.id).where(outbox.c.state == OutboxState.PENDING.value)
        if batch is not None:
            pick = pick.where(outbox.c.id.in_(list(batch)))
        if channels is not None:
            pick = pick.where(outbox.c.channel.in_([channel(c).name for c in channels]))
        pick = pick.order_by(outbox.c.id).limit(limit).with_for_update(skip_locked=True)
        stmt = (
            update(outbox)
            .where(outbox.c.id.in_(pick.scalar_subquery()), outbox.c.state == OutboxState.PENDING.value)
            .values(state=OutboxState.SENDING.value, attempts=outbox.c.attempts + 1, updated_at=self._clock())
            .returning(*outbox.c)
        )
        with self.engine.begin() as conn:
            rows = conn.execute(stmt).all()
        return sorted((OutboxEntry.from_row(r) for r in rows), key=lambda e: e.id)

    def mark_sent(self, entry_id: int, provider_ref: str | None = None) -> OutboxEntry:
        """The server accepted the message. Also confirms an ``uncertain`` row (e.g. a late answer)."""
        now = self._clock()
        return self._transition(
            entry_id,
            (OutboxState.SENDING, OutboxState.UNCERTAIN),
            state=OutboxState.SENT.value, sent_at=now, updated_at=now, provider_ref=provider_ref,
        )  # fmt: skip

    def mark_sent_many(self, accepted: Sequence[tuple[int, str | None]]) -> int:
        """``mark_sent`` for many rows (id, provider reference) in one transaction; how many changed.

        A row no longer ``sending``/``uncertain`` is left as it is and logged (``mark_sent`` would refuse it).
        """
        if not accepted:
            return 0
        now = self._clock()
        allowed = [OutboxState.SENDING.value, OutboxState.UNCERTAIN.value]
        stmt = (
            update(outbox)
            .where(outbox.c.id == bindparam("entry_id"), outbox.c.state.in_(allowed))
            .values(state=OutboxState.SENT.value, sent_at=now, updated_at=now, provider_ref=bindparam("ref"))
        )
        changed = 0
        with self.engine.begin() as conn:
            for entry_id, ref in accepted:
                if conn.execute(stmt, {"entry_id": entry_id, "ref": ref}).rowcount == 1:
                    changed += 1
                else:
                    log.error("outbox %s: accepted by the server but no longer 'sending'; left as it is", entry_id)
        return changed

    def mark_failed(self, entry_id: int, error: str, retryable: bool) -> OutboxEntry:
        """Record a refusal. Retryable: back to ``pending`` until ``max_attempts`` claims, then ``failed``."""
        current = self._require(entry_id)
        reason = error.strip() or "unknown error"
        if retryable and current.attempts < self.max_attempts:
            state = OutboxState.PENDING
        else:
            state = OutboxState.FAILED
            if retryable:
                reason = f"{reason} (gave up after {current.attempts} attempts)"
        return self._transition(
            entry_id, (OutboxState.SENDING,),
            state=state.value, last_error=reason[:_MAX_ERROR], updated_at=self._clock(),
        )  # fmt: skip

    def mark_uncertain(self, entry_id: int, reason: str) -> OutboxEntry:
        """The message may have reached the server; keep it out of automatic sending."""
        return self._transition(
            entry_id, (OutboxState.SENDING,),
            state=OutboxState.UNCERTAIN.value, last_error=reason[:_MAX_ERROR], updated_at=self._clock(),
        )  # fmt: skip

    def release(self, entry_ids: Sequence[int]) -> int:
        """Give back claimed rows that were never handed to a server (the attempt does not count)."""
        if not entry_ids:
            return 0
        stmt = (
            update(outbox)
            .where(outbox.c.id.in_(list(entry_ids)), outbox.c.state == OutboxState.SENDING.value)
            .values(state=OutboxState.PENDING.value, attempts=outbox.c.attempts - 1, updated_at=self._clock())
        )
        with self.engine.begin() as conn:
            return conn.execute(stmt).rowcount

    def reconcile_stale(self, older_than: timedelta) -> list[OutboxEntry]:
        """Rows ``sending`` for longer than ``older_than`` (their worker died) become ``uncertain``, not pending."""
        now = self._clock()
        reason = (
            f"left 'sending' for more than {older_than} (worker interrupted); it may or may not have been "
            "delivered, so it is not re-sent automatically"
        )
        stmt = (
            update(outbox)
            .where(outbox.c.state == OutboxState.SENDING.value, outbox.c.updated_at < now - older_than)
            .values(state=OutboxState.UNCERTAIN.value, last_error=reason, updated_at=now)
            .returning(*outbox.c)
        )
        with self.engine.begin() as conn:
            rows = conn.execute(stmt).all()
        entries = sorted((OutboxEntry.from_row(r) for r in rows), key=lambda e: e.id)
        for entry in entries:
            log.warning(
                "outbox %s (%s %s to %s) is uncertain: %s",
                entry.id, entry.kind, entry.channel, mask_destination(entry.channel, entry.destination), reason,
            )  # fmt: skip
        return entries

    def resend(self, entry_id: int) -> OutboxEntry:
        """An operator's explicit re-send of an uncertain or failed row: a new row with a new Message-ID.

        The old row stays as it was (history). The new key is ``<original key>#resend-<n>``. Refused while
        another send of the same message is still pending or in flight.
        """
        entry = self._require(entry_id)
        if entry.state not in (OutboxState.UNCERTAIN, OutboxState.FAILED):
            raise DispatchError(
                f"outbox {entry_id}: only uncertain or failed messages can be resent (it is {entry.state})"
            )
        root = self._require(entry.resend_of) if entry.resend_of is not None else entry
        family = or_(outbox.c.id == root.id, outbox.c.resend_of == root.id)
        with self.engine.connect() as conn:
            busy = conn.execute(
                select(outbox.c.id).where(
                    family, outbox.c.state.in_([OutboxState.PENDING.value, OutboxState.SENDING.value])
                )
            ).first()
            count = conn.execute(select(func.count()).select_from(outbox).where(outbox.c.resend_of == root.id))
            number = int(count.scalar_one()) + 1
        if busy is not None:
            raise DispatchError(f"outbox {entry_id}: a send of the same message is already queued (outbox {busy.id})")
        key = f"{root.dedupe_key}#resend-{number}"
        domain = entry.message_id.rstrip(">").rpartition("@")[2] or "esign.local"
        new_id = message_id_for(key, domain)
        payload = replace_message_id(entry.payload, new_id) if _is_email(entry.channel) else entry.payload
        now = self._clock()
        stmt = (
            insert(outbox)
            .values(
                dedupe_key=key, document_id=entry.document_id, request_id=entry.request_id, kind=entry.kind,
                channel=entry.channel, destination=entry.destination, message_id=new_id, payload=payload,
                state=OutboxState.PENDING.value, attempts=0, resend_of=root.id, created_at=now, updated_at=now,
            )
            .returning(*outbox.c)
        )  # fmt: skip
        try:
            with self.engine.begin() as conn:
                row = conn.execute(stmt).one()
        except IntegrityError as exc:
            raise DispatchError(f"outbox {entry_id}: another resend was recorded at the same time") from exc
        log.info("outbox %s resent as outbox %s (%s)", entry_id, row.id, key)
        return OutboxEntry.from_row(row)

    # -- delivery -------------------------------------------------------------------------------------
    def deliver_pending(
        self,
        senders: Mapping[str, Sender | None],
        limit: int = 100,
        *,
        batch: Sequence[int] | None = None,
        kinds: Collection[str] | None = None,
    ) -> DeliveryReport:
        """Send up to ``limit`` pending rows of the channels given a sender (``{"email": SmtpSender(...), ...}``;
        optionally only these ids / kinds), oldest first.

        A sender that is a context manager is entered once for the call (e-mail: one SMTP session). One row is in
        flight at a time and each accepted one is marked ``sent`` as the next is claimed
        (:mod:`esign.dispatch.delivery`): a worker killed mid-call leaves at most one row ``sending`` (in doubt,
        turned ``uncertain`` by ``reconcile_stale`` and never re-sent), while every row it did not hand over stays
        ``pending`` and goes out with the next call. When a channel is down, the rest of its rows stay pending for
        a later run. A row whose send ended in an unexpected error becomes ``uncertain``.
        """
        given = {name: sender for name, sender in senders.items() if sender is not None}
        candidates = pending_rows(self, batch, limit, [channel(name).name for name in given], kinds)
        return deliver(self, given, candidates)

    def abandon(self, entry_id: int, reason: str) -> OutboxEntry | None:
        """A pending row that must never go out any more (a one-time code the client no longer waits for): it
        becomes ``failed`` with ``reason``. None when the row is no longer pending (it was sent, or is in flight)."""
        stmt = (
            update(outbox)
            .where(outbox.c.id == entry_id, outbox.c.state == OutboxState.PENDING.value)
            .values(state=OutboxState.FAILED.value, last_error=reason[:_MAX_ERROR], updated_at=self._clock())
            .returning(*outbox.c)
        )
        with self.engine.begin() as conn:
            row = conn.execute(stmt).first()
        return OutboxEntry.from_row(row) if row is not None else None

    def abandon_stale(self, kind: str, older_than: timedelta, reason: str) -> list[OutboxEntry]:
        """``abandon`` every pending row of ``kind`` recorded more than ``older_than`` ago (a crashed portal left
        them: a code delivered that late would only confuse its reader)."""
        now = self._clock()
        stmt = (
            update(outbox)
            .where(outbox.c.state == OutboxState.PENDING.value, outbox.c.kind == MessageKind(kind).value,
                   outbox.c.created_at < now - older_than)
            .values(state=OutboxState.FAILED.value, last_error=reason[:_MAX_ERROR], updated_at=now)
            .returning(*outbox.c)
        )
        with self.engine.begin() as conn:
            return sorted((OutboxEntry.from_row(r) for r in conn.execute(stmt)), key=lambda e: e.id)

    def now(self) -> datetime:
        """The outbox's clock (tests move it to play a later run)."""
        return self._clock()

    # -- reading --------------------------------------------------------------------------------------
    def get(self, entry_id: int) -> OutboxEntry | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(outbox).where(outbox.c.id == entry_id)).first()
        return OutboxEntry.from_row(row) if row is not None else None

    def get_by_key(self, dedupe_key: str) -> OutboxEntry | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(outbox).where(outbox.c.dedupe_key == dedupe_key)).first()
        return OutboxEntry.from_row(row) if row is not None else None

    def entries(self, *, state: OutboxState | str | None = None, document_id: str | None = None) -> list[OutboxEntry]:
        """Rows in id order, optionally one state or one document (reports, the CLI, tests)."""
        stmt = select(outbox).order_by(outbox.c.id)
        if state is not None:
            stmt = stmt.where(outbox.c.state == OutboxState(state).value)
        if document_id is not None:
            stmt = stmt.where(outbox.c.document_id == document_id)
        with self.engine.connect() as conn:
            return [OutboxEntry.from_row(r) for r in conn.execute(stmt)]

    def counts(self) -> dict[OutboxState, int]:
        """How many rows are in each state (every state present, zero included)."""
        stmt = select(outbox.c.state, func.count()).group_by(outbox.c.state)
        with self.engine.connect() as conn:
            found = {OutboxState(s): int(n) for s, n in conn.execute(stmt)}
        return {s: found.get(s, 0) for s in OutboxState}

    # -- helpers --------------------------------------------------------------------------------------
    def _require(self, entry_id: int) -> OutboxEntry:
        entry = self.get(entry_id)
        if entry is None:
            raise DispatchError(f"outbox {entry_id}: no such message")
        return entry

    def _transition(self, entry_id: int, allowed: Sequence[OutboxState], **values: object) -> OutboxEntry:
        stmt = (
            update(outbox)
            .where(outbox.c.id == entry_id, outbox.c.state.in_([s.value for s in allowed]))
            .values(**values)
            .returning(*outbox.c)
        )
        with self.engine.begin() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            current = self._require(entry_id)
            wanted = values.get("state")
            raise DispatchError(f"outbox {entry_id}: cannot become {wanted} from {current.state}")
        return OutboxEntry.from_row(row)


def _new_row(msg: OutgoingMessage, now: datetime) -> dict[str, object]:
    """The pending outbox row for a message; a DispatchError naming the key for an unknown kind or channel, or an
    empty destination."""
    try:
        name, kind = channel(str(msg.channel)).name, MessageKind(msg.kind)
    except (ValueError, ConfigError) as exc:
        raise DispatchError(f"outbox {msg.dedupe_key}: {exc}") from exc
    if not msg.destination:
        raise DispatchError(f"outbox {msg.dedupe_key}: destination is empty")
    payload = msg.payload.encode("utf-8") if isinstance(msg.payload, str) else bytes(msg.payload)
    return dict(
        dedupe_key=msg.dedupe_key, document_id=msg.document_id, request_id=msg.request_id,
        kind=kind.value, channel=name, destination=msg.destination, message_id=msg.message_id,
        payload=payload, state=OutboxState.PENDING.value, attempts=0, created_at=now, updated_at=now,
    )  # fmt: skip


def _is_email(name: str) -> bool:
    """Whether rows of this channel carry a MIME e-mail (its Message-ID header moves with a resend)."""
    spec = find_channel(name)
    return spec is not None and spec.format == "email"
