"""Delivering outbox rows: one message in flight at a time, so a crash leaves at most one message in doubt.

Each accepted message is marked ``sent`` in the same transaction that claims the next one. A worker killed at any
moment therefore leaves at most one row ``sending``: the one it had handed over (or was about to), whose fate only
the server knows. Every other row is either ``sent`` or still ``pending`` and goes out with the next call; nothing
is counted sent that provably never reached the server. One transaction per message, where claiming and marking
groups of ten cost one per five but left up to ten rows in doubt after a crash, never re-sent.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select, update

from esign.dispatch.channels import mask_destination
from esign.dispatch.outbox_schema import outbox
from esign.dispatch.records import DeliveryError, DeliveryReport, MessageKind, OutboxEntry, OutboxState
from esign.dispatch.registry import Sender
from esign.errors import ConfigError

if TYPE_CHECKING:
    from esign.dispatch.outbox import Outbox

log = logging.getLogger(__name__)


def pending_rows(box: Outbox, batch: Sequence[int] | None, limit: int, channels: Collection[str],
                 kinds: Collection[str] | None) -> list[tuple[int, str]]:
    """The pending rows a delivery call will try, oldest first, fixed up front (id, channel)."""
    if limit <= 0 or (batch is not None and not batch) or not channels or (kinds is not None and not kinds):
        return []
    query = select(outbox.c.id, outbox.c.channel).where(
        outbox.c.state == OutboxState.PENDING.value, outbox.c.channel.in_([str(c) for c in channels]))
    if batch is not None:
        query = query.where(outbox.c.id.in_(list(batch)))
    if kinds is not None:
        query = query.where(outbox.c.kind.in_([MessageKind(k).value for k in kinds]))
    with box.engine.connect() as conn:
        return [(int(i), str(c)) for i, c in conn.execute(query.order_by(outbox.c.id).limit(limit))]


#: The two statements of every message, built once (building them per call cost more than running them).
_MARK_SENT = (update(outbox)
              .where(outbox.c.id == bindparam("mark_id"),
                     outbox.c.state.in_([OutboxState.SENDING.value, OutboxState.UNCERTAIN.value]))
              .values(state=OutboxState.SENT.value, sent_at=bindparam("now"), updated_at=bindparam("now"),
                      provider_ref=bindparam("ref")))
_CLAIM = (update(outbox)
          .where(outbox.c.id == bindparam("claim_id"), outbox.c.state == OutboxState.PENDING.value)
          .values(state=OutboxState.SENDING.value, attempts=outbox.c.attempts + 1, updated_at=bindparam("now"))
          .returning(*outbox.c))


def mark_and_claim(box: Outbox, accepted: tuple[int, str | None] | None, next_id: int | None) -> OutboxEntry | None:
    """In one transaction: mark the row the server accepted ``sent``, then claim ``next_id`` (if still pending).

    The claim is a conditional UPDATE: a row another worker took meanwhile is not ``pending`` and is skipped (None).
    """
    now = box.now()
    claimed = None
    with box.engine.begin() as conn:
        if accepted is not None:
            done = conn.execute(_MARK_SENT, {"mark_id": accepted[0], "ref": accepted[1], "now": now})
            if done.rowcount != 1:
                log.error("outbox %s: accepted by the server but no longer 'sending'; left as it is", accepted[0])
        if next_id is not None:
            claimed = conn.execute(_CLAIM, {"claim_id": next_id, "now": now}).first()
    return OutboxEntry.from_row(claimed) if claimed is not None else None


def deliver(box: Outbox, senders: Mapping[str, Sender], candidates: Sequence[tuple[int, str]]) -> DeliveryReport:
    """Send ``candidates`` one at a time, each through its channel's sender; record every outcome as it happens.

    A sender that is a context manager (SMTP: one session for the whole call) is entered on its first message.

    A channel found down leaves the rest of its rows pending, untouched (counted ``retried``). An unexpected error
    while a row is in flight makes that row ``uncertain`` and is raised; a configuration error (bad login) gives the
    row back untouched and is raised.
    """
    tally: Counter[str] = Counter()
    down: set[str] = set()
    accepted: tuple[int, str | None] | None = None
    with ExitStack() as stack:
        opened: set[str] = set()
        try:
            for entry_id, channel in candidates:
                if channel in down:
                    tally["retried"] += 1
                    continue
                entry, accepted = mark_and_claim(box, accepted, entry_id), None
                if entry is None:
                    continue  # another worker took it
                sender = senders[entry.channel]  # only channels with a sender are candidates
                if entry.channel not in opened:
                    opened.add(entry.channel)
                    if isinstance(sender, AbstractContextManager):
                        stack.enter_context(sender)
                try:
                    accepted = (entry.id, sender.send(entry))
                except DeliveryError as exc:
                    tally[_record_refusal(box, entry, exc).value] += 1
                    if exc.channel_down:
                        down.add(entry.channel)
                    continue
                except ConfigError:
                    box.release([entry.id])  # nothing was handed over: the attempt does not count
                    raise
                except BaseException as exc:
                    box.mark_uncertain(entry.id, f"unexpected error while sending: {exc!r}")
                    raise
                tally["sent"] += 1
        finally:
            if accepted is not None:
                mark_and_claim(box, accepted, None)
    return DeliveryReport(sent=tally["sent"], failed=tally[OutboxState.FAILED.value],
                          retried=tally["retried"] + tally[OutboxState.PENDING.value],
                          uncertain=tally[OutboxState.UNCERTAIN.value])


def _record_refusal(box: Outbox, entry: OutboxEntry, exc: DeliveryError) -> OutboxState:
    where = f"{entry.kind} {entry.channel} to {mask_destination(entry.channel, entry.destination)}"
    if exc.uncertain:
        log.warning("outbox %s (%s) uncertain: %s", entry.id, where, exc.reason)
        return box.mark_uncertain(entry.id, exc.reason).state
    row = box.mark_failed(entry.id, exc.reason, exc.retryable)
    log.warning("outbox %s (%s) %s: %s", entry.id, where, "will retry" if row.state is OutboxState.PENDING
                else "failed", exc.reason)  # fmt: skip
    return row.state
