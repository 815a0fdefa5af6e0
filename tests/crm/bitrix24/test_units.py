"""Small parts on their own: PHP query encoding, the leaky bucket, backoff, multi-fields, error shapes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from esign.crm.bitrix24 import records
from esign.crm.bitrix24.errors import (
    Bitrix24AuthError,
    Bitrix24MethodTimeLimitError,
    Bitrix24NotFoundError,
    Bitrix24PortalDeletedError,
    Bitrix24RateLimitError,
    Bitrix24ServerError,
    classify,
    is_retryable,
)
from esign.crm.bitrix24.query import command, php_query
from esign.crm.bitrix24.ratelimit import LeakyBucket, backoff_delay
from tests.crm.bitrix24.conftest import FakeClock
from tests.crm.bitrix24.fake_portal import parse_php_query


def test_php_query_round_trips_through_the_portals_parser() -> None:
    params = {"filter": {">ID": "$result[cmd_0][49][ID]", "STAGE_ID": "C1:PREPARAÇÃO", "@ID": [1, 2]},
              "order": {"ID": "ASC"}, "select": ["ID", "TITLE"], "start": -1, "skip": None, "flag": True,
              "amount": Decimal("1.10")}
    query = php_query(params)
    assert "%24result%5Bcmd_0%5D%5B49%5D%5BID%5D" in query  # encoded like http_build_query
    assert parse_php_query(query) == {
        "filter": {">ID": "$result[cmd_0][49][ID]", "STAGE_ID": "C1:PREPARAÇÃO", "@ID": ["1", "2"]},
        "order": {"ID": "ASC"}, "select": ["ID", "TITLE"], "start": "-1", "flag": "Y", "amount": "1.10"}
    assert command("crm.deal.get", {"id": 5}) == "crm.deal.get?id=5"
    assert command("crm.category.list") == "crm.category.list"
    with pytest.raises(TypeError):
        php_query({"x": object()})


def test_leaky_bucket_allows_the_burst_then_drains_at_the_rate() -> None:
    clock = FakeClock()
    bucket = LeakyBucket(burst=50, rate=2.0, clock=clock, sleep=clock.sleep)
    for _ in range(50):
        assert bucket.acquire() == 0
    assert bucket.acquire() == pytest.approx(0.5)
    assert bucket.acquire() == pytest.approx(0.5)
    clock.now += 100  # idle: the bucket empties
    assert bucket.acquire() == 0
    bucket.fill()
    assert bucket.acquire() == pytest.approx(0.5)
    enterprise = LeakyBucket(burst=250, rate=5.0, clock=clock, sleep=clock.sleep)
    assert sum(enterprise.acquire() for _ in range(260)) == pytest.approx(10 / 5.0)


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff_delay(n, 1.0, 10.0) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_multi_fields_prefer_work_then_the_first_value() -> None:
    home, work = {"VALUE_TYPE": "HOME", "VALUE": "a@x"}, {"VALUE_TYPE": "WORK", "VALUE": "b@x"}
    assert records.multi_value([home, work]) == "b@x"
    blank_work, mobile = {"VALUE_TYPE": "WORK", "VALUE": " "}, {"VALUE_TYPE": "MOBILE", "VALUE": "+55"}
    assert records.multi_value([blank_work, mobile]) == "+55"
    assert records.multi_value([]) is None and records.multi_value(None) is None
    assert records.ref_id("0") is None and records.ref_id(None) is None and records.ref_id(" 12 ") == "12"
    assert records.opt(["first", "second"]) == "first" and records.opt(Decimal("0.10")) == "0.10"


@pytest.mark.parametrize(("status", "code", "description", "kind", "retry"), [
    (400, "", "Not found", Bitrix24NotFoundError, False),
    (400, "NOT_FOUND", "Element not found", Bitrix24NotFoundError, False),
    (400, "ERROR_NOT_FOUND", "Entity not found", Bitrix24NotFoundError, False),
    (401, "NO_AUTH_FOUND", "Wrong authorization data", Bitrix24AuthError, False),
    (403, "insufficient_scope", "", Bitrix24AuthError, False),
    (503, "QUERY_LIMIT_EXCEEDED", "Too many requests", Bitrix24RateLimitError, True),
    (429, "QUERY_LIMIT_EXCEEDED", "Too many requests", Bitrix24RateLimitError, True),
    (429, "OPERATION_TIME_LIMIT", "Method is blocked", Bitrix24MethodTimeLimitError, True),
    (None, "OPERATION_TIME_LIMIT", "inside a batch", Bitrix24MethodTimeLimitError, True),
    (500, "INTERNAL_SERVER_ERROR", "Internal server error", Bitrix24ServerError, True),
    (500, "PORTAL_DELETED", "Portal was deleted", Bitrix24PortalDeletedError, False),
    (None, "INTERNAL_SERVER_ERROR", "inside a batch", Bitrix24ServerError, True),
])
def test_error_shapes(status: int | None, code: str, description: str, kind: type, retry: bool) -> None:
    error = classify("crm.deal.get", status, code, description)
    assert type(error) is kind and is_retryable(error) is retry
    assert error.method == "crm.deal.get" and error.code == code and error.status == status


def test_breaker_pauses_until_the_known_reset_or_one_basket_and_never_past_the_window() -> None:
    from esign.crm.bitrix24 import Bitrix24MethodPausedError, MethodBreaker

    clock = FakeClock()
    breaker = MethodBreaker(clock=clock, sleep=clock.sleep, max_wait=300.0)
    breaker.observe("crm.deal.get", {"operating": Decimal("12.5"), "operating_reset_at": 1250})
    breaker.observe("crm.deal.get", {"duration": 0.1})  # no operating fields: nothing changes
    assert breaker.usage()["crm.deal.get"].operating == 12.5
    assert breaker.trip("crm.deal.get") == 1250.0  # the reset seen in an earlier answer
    assert breaker.trip("user.get", reset_at=900.0) == 1060.0  # a stale reset: one basket
    assert breaker.trip("crm.contact.list", reset_at=99999.0) == 1600.0  # never longer than the window
    assert breaker.usage()["user.get"].paused_until == 1060.0
    assert breaker.wait(["crm.company.list"]) == 0.0
    assert breaker.wait(["crm.deal.get", "user.get"]) == 250.0  # the longest pause among them
    assert clock.now == 1250.0 and breaker.wait(["crm.deal.get"]) == 0.0
    with pytest.raises(Bitrix24MethodPausedError, match="350 s"):
        breaker.wait(["crm.contact.list"])


def test_product_rows_are_grouped_per_deal_in_sort_order() -> None:
    rows = [{"id": 3, "ownerId": 7, "ownerType": "D", "productName": "B", "price": Decimal("1.5"), "quantity": 2,
             "sort": 20},
            {"id": 4, "ownerId": 7, "ownerType": "D", "productName": "A", "price": 10, "quantity": 1, "sort": 10},
            {"id": 5, "ownerId": 8, "ownerType": "D", "productName": None, "price": 0, "quantity": 1, "sort": 10},
            {"id": 6, "ownerId": 9, "ownerType": "L", "productName": "lead", "price": 1, "quantity": 1}, "junk"]
    grouped = records.product_rows_by_deal(rows)
    assert [(i.description, i.quantity, i.unit_price) for i in grouped["7"]] == [("A", "1", "10"),
                                                                                 ("B", "2", "1.5")]
    assert grouped["8"][0].description is None and "9" not in grouped


def test_the_wait_bound_for_paused_methods_is_a_setting() -> None:
    from esign.crm.bitrix24 import Bitrix24Settings

    env = {"ESIGN_BITRIX24_WEBHOOK": "https://p.example.com/rest/1/abc123/", "ESIGN_BITRIX24_METHOD_WAIT_MAX": "30"}
    assert Bitrix24Settings.from_env(env).method_wait_max == 30.0
    assert Bitrix24Settings.from_env({"ESIGN_BITRIX24_WEBHOOK": env["ESIGN_BITRIX24_WEBHOOK"]}).method_wait_max == 660.0
