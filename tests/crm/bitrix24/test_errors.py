"""Limits and errors: pacing, retries with backoff, errors that must not be retried, redirects, masking."""

from __future__ import annotations

import logging
import socket

import pytest

from esign.crm.bitrix24 import (
    Bitrix24AuthError,
    Bitrix24Crm,
    Bitrix24Error,
    Bitrix24NotFoundError,
    Bitrix24RateLimitError,
    Bitrix24ServerError,
    Bitrix24Settings,
    Bitrix24TransportError,
    Bitrix24UncertainWriteError,
    WebhookUrl,
)
from esign.errors import CrmError
from tests.crm.bitrix24.conftest import FakeClock, MakeClient, fill
from tests.crm.bitrix24.fake_portal import FakePortal, Running, ServerBucket

LIMIT = (503, {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"})


def test_rate_limit_503_and_a_429_with_its_code_are_retried_with_exponential_backoff(
        portal: FakePortal, client: Bitrix24Crm, clock: FakeClock) -> None:
    portal.scripted = [LIMIT, LIMIT, (429, {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "slow down"}),
                       (429, {})]  # a proxy's bare 429: a rate limit too, but not labelled QUERY_LIMIT_EXCEEDED
    stages = client.list_stages()
    assert len(stages) == 11
    assert [e.status for e in portal.log] == [503, 503, 429, 429, 200, 200]
    backoffs = [s for s in clock.sleeps if s in (1.0, 2.0, 4.0, 8.0)]
    assert backoffs[:4] == [1.0, 2.0, 4.0, 8.0]


def test_rate_limit_gives_up_after_the_configured_attempts(
        portal: FakePortal, make_client: MakeClient, clock: FakeClock) -> None:
    client = make_client(max_attempts=3)
    portal.scripted = [LIMIT] * 10
    with pytest.raises(Bitrix24RateLimitError, match="gave up after 3 attempts"):
        client.get_deal_stage(1)
    assert len(portal.log) == 3


def test_client_pacing_keeps_a_portal_bucket_from_overflowing(
        portal: FakePortal, client: Bitrix24Crm, clock: FakeClock) -> None:
    portal.bucket = ServerBucket(burst=50, rate=2.0, clock=clock)
    portal.add_deal(1)
    for _ in range(120):
        assert client.get_deal_stage(1) == "C1:PREPARATION"
    assert all(e.status == 200 for e in portal.log)
    assert clock.now - 1000.0 == pytest.approx((120 - 50) / 2.0)  # the burst, then 2 requests per second


def test_an_over_eager_client_recovers_from_the_portals_503(
        portal: FakePortal, make_client: MakeClient, clock: FakeClock) -> None:
    client = make_client(burst=500, rate=50.0, backoff_base=0.5)  # a wrong plan setting: too fast
    portal.bucket = ServerBucket(burst=50, rate=2.0, clock=clock)
    portal.add_deal(1)
    for _ in range(80):
        assert client.get_deal_stage(1) == "C1:PREPARATION"
    statuses = [e.status for e in portal.log]
    assert statuses.count(503) >= 1 and statuses.count(200) == 80


def test_stages_of_an_export_survive_a_limit_in_the_middle(portal: FakePortal, client: Bitrix24Crm) -> None:
    ids = fill(portal, 3000)
    got = []
    for n, deal_id in enumerate(client.iter_deal_ids("C1:PREPARATION")):
        if n == 10:
            portal.scripted = [LIMIT, LIMIT]  # the second request meets the limit twice
        got.append(deal_id)
    assert got == ids


@pytest.mark.parametrize(("status", "code", "hint"), [
    (401, "NO_AUTH_FOUND", "check the webhook URL"),
    (401, "expired_token", "expired"),
    (403, "INVALID_CREDENTIALS", "lacks rights"),
    (403, "insufficient_scope", "scopes"),
    (403, "ACCESS_DENIED", "plan"),
    (400, "", "Access denied"),
])
def test_auth_errors_are_not_retried(portal: FakePortal, client: Bitrix24Crm, clock: FakeClock,
                                     status: int, code: str, hint: str) -> None:
    portal.scripted = [(status, {"error": code, "error_description": "Access denied"})]
    with pytest.raises(Bitrix24AuthError, match=hint) as info:
        client.list_stages()
    assert isinstance(info.value, CrmError)
    assert len(portal.log) == 1 and clock.sleeps == []


def test_a_wrong_webhook_code_is_an_auth_error_that_never_shows_the_code(
        portal: FakePortal, server: Running, make_client: MakeClient) -> None:
    client = make_client(f"{server.url}/rest/{portal.user_id}/wr0ngc0de77/")
    with pytest.raises(Bitrix24AuthError, match="NO_AUTH_FOUND") as info:
        client.get_deal_stage(1)
    assert "wr0ngc0de77" not in str(info.value)
    assert "wr0ngc0de77" not in repr(client) and "wr0ngc0de77" not in repr(client.settings)
    assert len(portal.log) == 1


def test_the_three_not_found_shapes(portal: FakePortal, client: Bitrix24Crm) -> None:
    assert client.get_deal_stage(404) is None  # legacy: empty code, HTTP 400 "Not found"
    with pytest.raises(Bitrix24NotFoundError, match="NOT_FOUND"):
        client.transport.call("crm.item.get", {"entityTypeId": 2, "id": 404})  # crm.item.*: NOT_FOUND
    with pytest.raises(Bitrix24NotFoundError, match=r"deal 404 not found.*OWNER_NOT_FOUND"):
        client.add_comment(404, "x")  # a comment on a deleted deal: OWNER_NOT_FOUND
    with pytest.raises(Bitrix24NotFoundError, match="deal 404 not found"):
        client.move_deal(404, "C1:WON")
    assert all(e.status in (200, 400) for e in portal.log)
    with pytest.raises(Bitrix24Error, match="ERROR_METHOD_NOT_FOUND") as info:
        client.transport.call("crm.nothing.here")
    assert not isinstance(info.value, Bitrix24NotFoundError)


def test_server_errors_are_retried_for_reads_but_not_for_writes(
        portal: FakePortal, client: Bitrix24Crm, clock: FakeClock) -> None:
    portal.add_deal(1)
    error = (500, {"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"})
    portal.scripted = [error, error]
    assert client.get_deal_stage(1) == "C1:PREPARATION"
    assert [e.status for e in portal.log] == [500, 500, 200]
    portal.scripted = [error]
    with pytest.raises(Bitrix24UncertainWriteError, match="may or may not have been applied"):
        client.add_comment(1, "Contrato assinado")
    assert portal.comments == []  # not repeated blindly
    portal.scripted = [LIMIT]  # refused before running: safe to repeat
    assert client.add_comment(1, "Contrato assinado") == "1000"
    portal.scripted = [error] * 5
    with pytest.raises(Bitrix24ServerError, match="gave up after 5 attempts"):
        client.get_deal_stage(1)
    portal.scripted = [(503, {"error": "OVERLOAD_LIMIT", "error_description": "blocked by support"})]
    with pytest.raises(Bitrix24ServerError, match="OVERLOAD_LIMIT"):
        client.get_deal_stage(1)


def test_a_portal_that_cannot_be_reached_is_a_transport_error(clock: FakeClock) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Bitrix24Settings(WebhookUrl.parse(f"http://127.0.0.1:{port}/rest/1/t0psecretc0de/"), max_attempts=3)
    with Bitrix24Crm(settings, clock=clock, sleep=clock.sleep) as client, \
            pytest.raises(Bitrix24TransportError, match="gave up after 3 attempts") as info:
        client.list_stages()
    assert "t0psecretc0de" not in str(info.value)
    assert clock.sleeps[-2:] == [1.0, 2.0]


def test_a_renamed_portal_is_followed_and_remembered(
        portal: FakePortal, server: Running, make_client: MakeClient) -> None:
    old = Running(redirect_to=server.url)
    try:
        client = make_client(old.webhook(portal))
        portal.add_deal(9, STAGE_ID="C1:WON")
        assert client.get_deal_stage(9) == "C1:WON"
        assert client.list_stages()
        client.move_deal(9, "C1:LOSE")
        assert old.server.hits == 1  # only the first call went to the old name
        assert client.transport.webhook.host == server.url.split("//", 1)[1]
        assert portal.updates[0]["fields"] == {"STAGE_ID": "C1:LOSE"}  # the POST body survived the redirect
    finally:
        old.stop()


def test_http_library_logs_never_show_the_webhook_code(
        portal: FakePortal, client: Bitrix24Crm, caplog: pytest.LogCaptureFixture) -> None:
    # httpx's own level too: importing Airflow's task supervisor (in the same test process) raises it to WARNING
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="httpx"):
        client.get_deal_stage(1)
        portal.scripted = [LIMIT]
        client.get_deal_stage(1)
    assert "HTTP Request: POST" in caplog.text and "/rest/7/***/crm.deal.get" in caplog.text
    assert portal.code not in caplog.text
