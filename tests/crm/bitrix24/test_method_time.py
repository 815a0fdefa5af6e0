"""Method time limits over HTTP: ``time.operating`` is read, OPERATION_TIME_LIMIT pauses one method until its
reset (documents wait, they don't fail), a pause longer than allowed is a typed error, PORTAL_DELETED is fatal."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from esign.crm.bitrix24 import (
    Bitrix24Crm,
    Bitrix24MethodPausedError,
    Bitrix24MethodTimeLimitError,
    Bitrix24PortalDeletedError,
    Bitrix24RateLimitError,
)
from esign.crm.method_pauses import MethodPauseStore
from esign.errors import CrmPausedError
from esign.store.db import make_engine
from esign.store.migrations import upgrade
from tests.crm.bitrix24.conftest import FakeClock, MakeClient, fill
from tests.crm.bitrix24.fake_portal import FakePortal


def _limit(portal: FakePortal, method: str, calls: int) -> None:
    """``method`` is blocked after ``calls`` calls in the window (each costs 1 s, the limit is calls - 0.5)."""
    portal.operating.cost[method] = 1.0
    portal.operating.limit = calls - 0.5


def test_every_answer_feeds_the_methods_operating_time(portal: FakePortal, client: Bitrix24Crm) -> None:
    portal.add_deal(1)
    portal.operating.cost["crm.deal.get"] = 2.5
    client.get_deal_stage(1)
    client.get_deal_stage(1)
    usage = client.transport.breaker.usage()["crm.deal.get"]
    assert usage.operating == 5.0 and usage.reset_at == 1000 + 600 and usage.paused_until is None
    client.fetch_deals("C1:PREPARATION", 1, 1)  # commands inside batch count, each for its own method
    usage = client.transport.breaker.usage()
    assert usage["crm.item.productrow.list"].operating == pytest.approx(0.01)


def test_a_429_pauses_the_method_until_its_reset_then_the_call_succeeds(
        portal: FakePortal, client: Bitrix24Crm, clock: FakeClock) -> None:
    portal.add_deal(1)
    _limit(portal, "crm.deal.get", 3)
    for _ in range(3):
        assert client.get_deal_stage(1) == "C1:PREPARATION"
    clock.now += 100  # the oldest basket started at 1000: it drops out at 1600
    assert client.get_deal_stage(1) == "C1:PREPARATION"  # refused, waited 500 s, then answered
    assert [e.status for e in portal.log] == [200, 200, 200, 429, 200]
    assert clock.sleeps == [500.0]  # exactly until operating_reset_at: no backoff, no bucket refill
    assert client.transport.breaker.trips == 1 and client.transport.breaker.waited == 500.0


def test_other_methods_keep_working_while_one_is_paused_beyond_the_wait_bound(
        portal: FakePortal, make_client: MakeClient, clock: FakeClock) -> None:
    client = make_client(method_wait_max=60.0)
    portal.add_deal(1)
    _limit(portal, "crm.deal.get", 1)
    client.get_deal_stage(1)
    with pytest.raises(Bitrix24MethodPausedError, match=r"crm\.deal\.get: paused") as info:
        client.get_deal_stage(1)
    error = info.value
    assert isinstance(error, CrmPausedError) and isinstance(error, Bitrix24MethodTimeLimitError)
    assert error.until == 1600.0 and error.paused_method == "crm.deal.get"
    assert not isinstance(error, Bitrix24RateLimitError)  # its own condition, not QUERY_LIMIT_EXCEEDED
    sent = len(portal.log)
    with pytest.raises(Bitrix24MethodPausedError):
        client.get_deal_stage(1)  # still paused: not even sent
    assert len(portal.log) == sent
    assert len(client.list_stages()) == 11  # other methods are not paused
    assert clock.sleeps == []
    clock.now = 1600.0
    assert client.get_deal_stage(1) == "C1:PREPARATION"  # after the reset the method works again


def test_commands_refused_inside_batch_wait_for_their_method_and_run_again(
        portal: FakePortal, client: Bitrix24Crm, clock: FakeClock) -> None:
    ids = fill(portal, 150, other_every=0)
    _limit(portal, "crm.contact.list", 2)  # the third contact page of the round is refused
    fetched = client.fetch_deals("C1:PREPARATION", ids[0], ids[-1])
    assert [f.deal_id for f in fetched] == ids
    assert all(f.deal.counterparty.email for f in fetched)  # every contact read, none lost to the limit
    assert portal.commands.count("crm.contact.list") == 3  # 2 in the round, the refused one after the pause
    assert clock.sleeps == [600.0]
    assert portal.commands.count("crm.item.productrow.list") == 3  # the other methods ran once


def test_a_write_refused_by_the_time_limit_is_sent_again_after_the_pause(
        portal: FakePortal, client: Bitrix24Crm, clock: FakeClock) -> None:
    portal.add_deal(8)
    _limit(portal, "crm.timeline.comment.add", 1)
    assert client.add_comment(8, "primeiro") == "1000"
    assert client.add_comment(8, "segundo") == "1001"  # refused before running: safe to repeat
    assert [c["text"] for c in portal.comments] == ["primeiro", "segundo"]
    assert clock.sleeps == [600.0]


def test_a_method_refused_again_after_every_reset_gives_up(
        portal: FakePortal, make_client: MakeClient, clock: FakeClock) -> None:
    client = make_client(max_attempts=3)
    answer = (429, {"error": "OPERATION_TIME_LIMIT", "error_description": "blocked"})  # no time: one basket each
    portal.scripted = [answer] * 3
    with pytest.raises(Bitrix24MethodTimeLimitError, match="gave up after 3 attempts"):
        client.get_deal_stage(1)
    assert clock.sleeps == [60.0, 60.0]


def test_a_deleted_portal_is_fatal_at_once(portal: FakePortal, client: Bitrix24Crm, clock: FakeClock) -> None:
    portal.deleted = True
    with pytest.raises(Bitrix24PortalDeletedError, match=r"PORTAL_DELETED.*deleted or closed"):
        client.list_stages()
    assert len(portal.log) == 1 and clock.sleeps == []


def test_a_pause_is_recorded_where_other_processes_see_it(
        portal: FakePortal, client: Bitrix24Crm, clock: FakeClock, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    upgrade(engine)
    store = MethodPauseStore(engine)
    client.transport.breaker.on_pause = store.recorder(client.transport.webhook.host)
    portal.add_deal(1)
    _limit(portal, "crm.deal.get", 2)
    client.get_deal_stage(1)
    client.get_deal_stage(1)
    clock.now += 100
    client.get_deal_stage(1)  # refused with 429: paused until 1600, then answered
    (pause,) = store.active(datetime.fromtimestamp(clock.now - 1, UTC))
    assert (pause.portal, pause.method) == (client.transport.webhook.host, "crm.deal.get")
    assert pause.until == datetime.fromtimestamp(1600, UTC) and pause.operating == 2.0
    assert store.active(datetime.fromtimestamp(1600, UTC)) == []  # over once the basket dropped out
