"""The outbox's exactly-once rules: idempotent enqueue, exclusive claims, crash -> uncertain, explicit resend."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes
from email.policy import SMTP as SMTP_POLICY
from types import TracebackType
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from esign.dispatch.email import SmtpSender, SmtpSettings
from esign.dispatch.mailserver import LocalMailServer, read_messages
from esign.dispatch.outbox import Outbox
from esign.dispatch.outbox_schema import outbox as outbox_table
from esign.dispatch.records import OutboxEntry, OutboxState, OutgoingMessage
from esign.errors import ConfigError, DispatchError

MakeInvite = Callable[..., OutgoingMessage]


def _rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(outbox_table)).scalar_one())


def test_enqueue_is_idempotent_on_the_dedupe_key(outbox: Outbox, engine: Engine, make_invite: MakeInvite) -> None:
    first = outbox.enqueue(make_invite("R1"))
    again = outbox.enqueue(make_invite("R1", to="someone.else@example.com"))
    assert again.id == first.id and again.destination == "joao@example.com"
    assert first.state is OutboxState.PENDING and first.attempts == 0
    assert _rows(engine) == 1


def test_concurrent_enqueue_of_one_intent_makes_one_row(
    outbox: Outbox, engine: Engine, make_invite: MakeInvite
) -> None:
    message = make_invite("R1")
    barrier = threading.Barrier(4)
    ids: list[int] = []

    def worker() -> None:
        barrier.wait(10)
        ids.append(outbox.enqueue(message).id)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(ids) == 4 and len(set(ids)) == 1
    assert _rows(engine) == 1


def test_enqueue_refuses_unknown_channel_kind_or_empty_destination(outbox: Outbox, make_invite: MakeInvite) -> None:
    base = make_invite("R1")
    for bad in ({"channel": "fax"}, {"kind": "spam"}, {"destination": ""}):
        with pytest.raises(DispatchError):
            outbox.enqueue(replace(base, **bad))


def test_sms_payload_is_stored_as_text(outbox: Outbox) -> None:
    entry = outbox.enqueue(
        OutgoingMessage("code:R1:1", "DOC-1", "R1", "code", "sms", "+5511987654321", "<c@esign.local>", "Código 123")
    )
    assert entry.text == "Código 123"


def test_claim_takes_pending_rows_once_oldest_first(outbox: Outbox, make_invite: MakeInvite) -> None:
    ids = [outbox.enqueue(make_invite(f"R{i}")).id for i in range(5)]
    first = outbox.claim(limit=2)
    assert [e.id for e in first] == ids[:2]
    assert all(e.state is OutboxState.SENDING and e.attempts == 1 for e in first)
    assert [e.id for e in outbox.claim(batch=[ids[0], ids[4]], limit=10)] == [ids[4]]
    assert outbox.claim(batch=[], limit=10) == []
    assert outbox.claim(limit=0) == []
    assert outbox.claim(channels=["sms"]) == []
    assert [e.id for e in outbox.claim(limit=10)] == ids[2:4]


def test_two_concurrent_claimers_never_take_the_same_row(outbox: Outbox, make_invite: MakeInvite) -> None:
    ids = {outbox.enqueue(make_invite(f"R{i}")).id for i in range(40)}
    barrier = threading.Barrier(4)
    taken: list[list[int]] = [[] for _ in range(4)]

    def worker(n: int) -> None:
        barrier.wait(10)
        while batch := outbox.claim(limit=3):
            taken[n].extend(e.id for e in batch)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    everything = [i for part in taken for i in part]
    assert sorted(everything) == sorted(ids), "every row claimed exactly once"


def test_two_concurrent_deliveries_send_each_message_once(
    outbox: Outbox, make_invite: MakeInvite, mail_server: LocalMailServer, smtp_settings: SmtpSettings
) -> None:
    for i in range(12):
        outbox.enqueue(make_invite(f"R{i}", to=f"p{i}@example.com"))
    barrier = threading.Barrier(2)
    sent: list[int] = []

    def worker() -> None:
        sender = SmtpSender(smtp_settings)
        barrier.wait(10)
        while (report := outbox.deliver_pending({"email": sender}, limit=2)).sent:
            sent.append(report.sent)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    received = read_messages(mail_server.maildir)
    assert sum(sent) == 12 and len(received) == 12
    assert len({m.header("Message-ID") for m in received}) == 12
    assert outbox.counts()[OutboxState.SENT] == 12


def test_mark_failed_retries_up_to_max_attempts_then_fails(outbox: Outbox, make_invite: MakeInvite) -> None:
    entry = outbox.enqueue(make_invite("R1"))
    for attempt in (1, 2):
        [claimed] = outbox.claim()
        again = outbox.mark_failed(claimed.id, "451 try later", retryable=True)
        assert again.state is OutboxState.PENDING and again.attempts == attempt
    [claimed] = outbox.claim()
    final = outbox.mark_failed(claimed.id, "451 try later", retryable=True)
    assert final.state is OutboxState.FAILED and final.attempts == 3
    assert final.last_error == "451 try later (gave up after 3 attempts)"
    assert outbox.get(entry.id) == final


def test_outcomes_are_only_accepted_from_the_right_state(outbox: Outbox, make_invite: MakeInvite) -> None:
    entry = outbox.enqueue(make_invite("R1"))
    with pytest.raises(DispatchError, match="cannot become sent from pending"):
        outbox.mark_sent(entry.id)
    with pytest.raises(DispatchError, match="no such message"):
        outbox.mark_failed(9999, "x", retryable=False)
    [claimed] = outbox.claim()
    done = outbox.mark_sent(claimed.id, "250 queued")
    assert done.state is OutboxState.SENT and done.sent_at is not None and done.provider_ref == "250 queued"
    with pytest.raises(DispatchError, match="cannot become failed from sent"):
        outbox.mark_failed(claimed.id, "late", retryable=False)
    with pytest.raises(ConfigError):
        Outbox(outbox.engine, max_attempts=0)


def test_crash_after_send_is_reconciled_as_uncertain_and_never_resent(
    outbox: Outbox, clock: Any, make_invite: MakeInvite, mail_server: LocalMailServer, smtp_settings: SmtpSettings
) -> None:
    entry = outbox.enqueue(make_invite("R1"))
    [claimed] = outbox.claim()
    with SmtpSender(smtp_settings) as sender:
        sender.send(claimed)  # the server has it ... and the worker dies before mark_sent
    assert outbox.reconcile_stale(timedelta(minutes=10)) == [], "not stale yet"
    clock.advance(minutes=11)
    [uncertain] = outbox.reconcile_stale(timedelta(minutes=10))
    assert uncertain.id == entry.id and uncertain.state is OutboxState.UNCERTAIN
    assert "not re-sent automatically" in (uncertain.last_error or "")
    report = outbox.deliver_pending({"email": SmtpSender(smtp_settings)})
    assert report.sent == 0
    assert len(read_messages(mail_server.maildir)) == 1, "sent once, never twice"
    assert outbox.counts()[OutboxState.UNCERTAIN] == 1
    assert outbox.mark_sent(entry.id).state is OutboxState.SENT, "a late confirmation is accepted"


def test_resend_makes_a_new_row_with_a_new_message_id(
    outbox: Outbox, clock: Any, make_invite: MakeInvite, mail_server: LocalMailServer, smtp_settings: SmtpSettings
) -> None:
    original = outbox.enqueue(make_invite("R1"))
    outbox.claim()
    clock.advance(hours=1)
    outbox.reconcile_stale(timedelta(minutes=10))
    copy = outbox.resend(original.id)
    assert copy.id != original.id and copy.dedupe_key == "invite:R1#resend-1" and copy.resend_of == original.id
    assert copy.state is OutboxState.PENDING and copy.message_id != original.message_id
    assert copy.payload.replace(copy.message_id.encode(), original.message_id.encode()) == original.payload
    with pytest.raises(DispatchError, match="already queued"):
        outbox.resend(original.id)
    assert outbox.deliver_pending({"email": SmtpSender(smtp_settings)}).sent == 1
    [received] = read_messages(mail_server.maildir)
    assert received.header("Message-ID") == copy.message_id
    assert outbox.get(original.id).state is OutboxState.UNCERTAIN, "history kept"  # type: ignore[union-attr]
    with pytest.raises(DispatchError, match="only uncertain or failed"):
        outbox.resend(copy.id)
    with pytest.raises(DispatchError, match="no such message"):
        outbox.resend(12345)


def test_resend_of_a_failed_resend_counts_on(outbox: Outbox, make_invite: MakeInvite) -> None:
    original = outbox.enqueue(make_invite("R1"))
    outbox.claim()
    outbox.mark_failed(original.id, "550 no such user", retryable=False)
    first = outbox.resend(original.id)
    outbox.claim()
    outbox.mark_failed(first.id, "550 no such user", retryable=False)
    second = outbox.resend(first.id)
    assert second.dedupe_key == "invite:R1#resend-2" and second.resend_of == original.id
    assert len({original.message_id, first.message_id, second.message_id}) == 3
    sms = outbox.enqueue(
        OutgoingMessage("code:R1:1", "DOC-1", "R1", "code", "sms", "+5511987654321", "<c@esign.local>", "Código 1")
    )
    outbox.claim(channels=["sms"])
    outbox.mark_failed(sms.id, "400", retryable=False)
    sms_again = outbox.resend(sms.id)
    assert sms_again.text == "Código 1" and sms_again.message_id != sms.message_id
    assert message_from_bytes(second.payload, policy=SMTP_POLICY)["Message-ID"] == second.message_id


class _Exploding:
    """An email channel whose second send hits a bug (not an SMTP answer)."""

    def __init__(self) -> None:
        self.calls = 0

    def __enter__(self) -> _Exploding:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def send(self, entry: OutboxEntry) -> str:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("bug in the sender")
        return "ok"


def test_an_unexpected_error_leaves_that_row_uncertain_and_releases_the_rest(
    outbox: Outbox, make_invite: MakeInvite
) -> None:
    ids = [outbox.enqueue(make_invite(f"R{i}")).id for i in range(4)]
    with pytest.raises(RuntimeError, match="bug"):
        outbox.deliver_pending({"email": _Exploding()})
    states = [outbox.get(i).state for i in ids]  # type: ignore[union-attr]
    assert states == [OutboxState.SENT, OutboxState.UNCERTAIN, OutboxState.PENDING, OutboxState.PENDING]
    assert [outbox.get(i).attempts for i in ids[2:]] == [0, 0]  # type: ignore[union-attr]


def test_enqueue_many_is_one_batch_and_idempotent_on_each_key(
    outbox: Outbox, engine: Engine, make_invite: MakeInvite
) -> None:
    first = outbox.enqueue(make_invite("R1"))
    entries = outbox.enqueue_many([make_invite("R0"), make_invite("R1", to="someone.else@example.com"),
                                   make_invite("R2")])
    assert [e.request_id for e in entries] == ["R0", "R1", "R2"]
    assert entries[1] == first  # the existing row is returned unchanged
    assert [e.state for e in entries] == [OutboxState.PENDING] * 3
    again = outbox.enqueue_many([make_invite("R2"), make_invite("R0")])
    assert [e.id for e in again] == [entries[2].id, entries[0].id]
    assert _rows(engine) == 3
    with pytest.raises(DispatchError, match="destination is empty"):
        outbox.enqueue_many([make_invite("R3"), replace(make_invite("R4"), destination="")])
    assert _rows(engine) == 3  # nothing of a refused batch is written


def test_enqueue_many_racing_enqueue_makes_one_row_per_key(
    outbox: Outbox, engine: Engine, make_invite: MakeInvite
) -> None:
    messages = [make_invite(f"R{i}") for i in range(20)]
    barrier = threading.Barrier(3)
    results: list[list[int]] = []

    def worker() -> None:
        barrier.wait(10)
        results.append([e.id for e in outbox.enqueue_many(messages)])

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 3 and results[0] == results[1] == results[2]
    assert _rows(engine) == 20


def test_delivery_marks_each_accepted_row_sent(outbox: Outbox, make_invite: MakeInvite) -> None:
    ids = [e.id for e in outbox.enqueue_many([make_invite(f"R{i}") for i in range(5)])]
    sender = _Counting()
    report = outbox.deliver_pending({"email": sender})
    assert report.sent == 5 and sender.calls == 5
    assert [outbox.get(i).state for i in ids] == [OutboxState.SENT] * 5  # type: ignore[union-attr]
    assert all(outbox.get(i).provider_ref == "ok" and outbox.get(i).attempts == 1 for i in ids)  # type: ignore[union-attr]


def test_only_the_message_in_flight_is_ever_in_doubt(outbox: Outbox, make_invite: MakeInvite) -> None:
    """One row is claimed at a time and the accepted one is marked as the next is claimed: whenever a worker could
    die, at most one row is ``sending``, every earlier one is ``sent`` and every later one still ``pending``."""
    ids = [e.id for e in outbox.enqueue_many([make_invite(f"R{i}") for i in range(7)])]
    seen: list[list[OutboxState]] = []

    class Watching(_Counting):
        def send(self, entry: OutboxEntry) -> str:
            seen.append([outbox.get(i).state for i in ids])  # type: ignore[union-attr]
            return super().send(entry)

    report = outbox.deliver_pending({"email": Watching()})
    assert report.sent == 7
    for n, states in enumerate(seen):
        assert states == [OutboxState.SENT] * n + [OutboxState.SENDING] + [OutboxState.PENDING] * (6 - n), n


def test_a_code_left_pending_is_abandoned_never_sent_late(outbox: Outbox, make_invite: MakeInvite) -> None:
    code = outbox.enqueue(OutgoingMessage("code:R1:1", "DOC-1", "R1", "code", "sms", "+5511987654321",
                                          "<c1@esign.local>", "Código 123456"))
    invite = outbox.enqueue(make_invite("R2"))
    assert outbox.abandon_stale("code", timedelta(minutes=5), "late") == [], "recorded just now"
    later = Outbox(outbox.engine, clock=lambda: code.created_at + timedelta(minutes=6))
    [gone] = later.abandon_stale("code", timedelta(minutes=5), "never delivered in time")
    assert gone.id == code.id and gone.state is OutboxState.FAILED and gone.last_error == "never delivered in time"
    assert outbox.get(invite.id).state is OutboxState.PENDING  # type: ignore[union-attr]
    assert outbox.abandon(code.id, "again") is None, "only a pending row can be abandoned"
    sender = _Counting()
    assert outbox.deliver_pending({"email": sender}, kinds=["reminder"]).sent == 0 and sender.calls == 0
    assert outbox.deliver_pending({"email": sender}, kinds=["invite"]).sent == 1


class _Counting:
    calls = 0

    def __enter__(self) -> _Counting:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def send(self, entry: OutboxEntry) -> str:
        self.calls += 1
        return "ok"
