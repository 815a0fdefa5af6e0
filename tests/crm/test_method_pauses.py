"""Paused CRM methods in the ledger: recorded by the breaker's callback, listed while they last, replaced by a
later pause of the same method, and a database that refuses never fails the CRM call that met the pause."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from esign.crm.method_pauses import MethodPauseStore
from esign.store.db import make_engine
from esign.store.migrations import upgrade

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> MethodPauseStore:
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    upgrade(engine)
    return MethodPauseStore(engine, clock=lambda: NOW)


def test_pauses_are_listed_until_they_end_soonest_first(store: MethodPauseStore) -> None:
    store.record("a.bitrix24.com.br", "crm.deal.update", (NOW + timedelta(minutes=9, seconds=20)).timestamp(), 812.5)
    store.record("a.bitrix24.com.br", "crm.timeline.comment.add", (NOW + timedelta(seconds=30)).timestamp())
    store.record("b.bitrix24.com.br", "crm.deal.list", (NOW - timedelta(seconds=1)).timestamp())  # over
    active = store.active()
    assert [(p.portal, p.method) for p in active] == [("a.bitrix24.com.br", "crm.timeline.comment.add"),
                                                      ("a.bitrix24.com.br", "crm.deal.update")]
    assert active[1].operating == 812.5 and active[0].operating is None
    assert active[1].until == NOW + timedelta(minutes=9, seconds=20)
    assert [p.remaining_minutes(NOW) for p in active] == [1, 10]  # rounded up: 30 s is not "0 min"
    assert store.active(NOW + timedelta(minutes=10)) == []


def test_a_later_pause_of_the_same_method_replaces_the_earlier(store: MethodPauseStore) -> None:
    store.record("a.bitrix24.com.br", "crm.deal.update", (NOW + timedelta(minutes=2)).timestamp())
    store.record("a.bitrix24.com.br", "crm.deal.update", (NOW + timedelta(minutes=7)).timestamp(), 700.0)
    (pause,) = store.active()
    assert pause.until == NOW + timedelta(minutes=7) and pause.operating == 700.0


def test_a_database_that_refuses_only_logs(store: MethodPauseStore, caplog: pytest.LogCaptureFixture) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE crm_method_pauses"))
    on_pause = store.recorder("a.bitrix24.com.br")
    with caplog.at_level(logging.WARNING, logger="esign.crm.method_pauses"):
        on_pause("crm.deal.update", (NOW + timedelta(minutes=2)).timestamp(), None)  # no exception
    assert "could not record the pause of crm.deal.update on a.bitrix24.com.br" in caplog.text
