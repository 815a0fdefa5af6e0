"""The embedded CRM on PostgreSQL: a throwaway database per module, dropped afterwards.

The server URL defaults to the local trust-auth server and can be changed with ESIGN_TEST_PG_URL
(a URL to an administrative database, e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, insert, select

from esign.crm import CrmStageMap, LocalCrm, seed_demo
from esign.crm.local_schema import crm_deals
from esign.errors import CrmError
from esign.store import init_schema, make_engine
from esign.validate import validate_deal
from tests.prod.postgres import throwaway_database

from .conftest import FIXED_NOW, TRIGGER

pytestmark = pytest.mark.postgres

@pytest.fixture(scope="module")
def pg_engine() -> Iterator[Engine]:
    with throwaway_database() as url:
        engine = make_engine(url)
        try:
            init_schema(engine)
            yield engine
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def pg_seeded(pg_engine: Engine) -> tuple[LocalCrm, dict[int, str]]:
    summary = seed_demo(pg_engine, 130, now=FIXED_NOW)
    assert (summary.first_deal_id, summary.last_deal_id) == (1, 130)
    return LocalCrm(pg_engine, clock=lambda: FIXED_NOW), summary.broken


def test_listing_pages_in_id_order(pg_seeded: tuple[LocalCrm, dict[int, str]]) -> None:
    crm, _ = pg_seeded
    CrmStageMap().validate(crm.list_stages())
    assert list(crm.iter_deal_ids(TRIGGER)) == list(range(1, 131))
    assert list(crm.iter_deal_ids(TRIGGER, limit=60)) == list(range(1, 61))


def test_fetch_normalises_and_broken_deals_are_quarantined(pg_seeded: tuple[LocalCrm, dict[int, str]]) -> None:
    crm, broken = pg_seeded
    fetched = crm.fetch_deals(TRIGGER, 1, 130)
    assert [f.deal_id for f in fetched] == list(range(1, 131))
    assert all(f.problems == () for f in fetched)
    assert {f.deal_id for f in fetched if validate_deal(f.deal)} == set(broken) and len(broken) == 5
    for item in fetched:
        assert item.deal.amount == sum((i.total for i in item.deal.line_items), Decimal(0))


def test_move_comment_delete(pg_seeded: tuple[LocalCrm, dict[int, str]]) -> None:
    crm, _ = pg_seeded
    crm.move_deal(5, "C1:EXECUTING")
    assert crm.get_deal_stage(5) == "C1:EXECUTING"
    with pytest.raises(CrmError, match="unknown deal stage 'C1:NOPE'"):
        crm.move_deal(6, "C1:NOPE")
    with pytest.raises(CrmError, match="deal 99999 not found"):
        crm.move_deal(99999, "C1:WON")
    pdf = bytes(range(256)) * 100
    comment = crm.add_comment(5, "Contrato assinado ✅", files=[("contrato.pdf", pdf), ("vazio.txt", b"")])
    [stored] = crm.comments(5)
    assert stored.id == comment and stored.text == "Contrato assinado ✅"
    assert stored.files == (("contrato.pdf", pdf), ("vazio.txt", b""))
    with pytest.raises(CrmError, match="deal 99999 not found"):
        crm.add_comment(99999, "x")
    listed = list(crm.iter_deal_ids(TRIGGER))
    assert crm.delete_deal(7)
    assert 7 in listed and [f.deal_id for f in crm.fetch_deals(TRIGGER, 6, 8)] == [6, 8]
    assert crm.get_deal_stage(7) is None and crm.delete_deal(7) is False


def test_exact_decimals_and_bad_values_on_postgres(pg_seeded: tuple[LocalCrm, dict[int, str]],
                                                   pg_engine: Engine) -> None:
    crm, _ = pg_seeded
    with pg_engine.begin() as conn:  # no explicit ID: the sequence is in step after the bulk seed
        highest = conn.execute(select(func.max(crm_deals.c.id))).scalar_one()
        deal_id = conn.execute(insert(crm_deals).values(
            title="Ajuste", amount="1234567890123.45", currency="BRL", category_id="1", stage_id="C1:NEW",
            created_at=FIXED_NOW, updated_at=FIXED_NOW).returning(crm_deals.c.id)).scalar_one()
        bad_id = conn.execute(insert(crm_deals).values(
            title="Ruim", amount="abc", currency="BRL", category_id="1", stage_id="C1:NEW",
            created_at=FIXED_NOW, updated_at=FIXED_NOW).returning(crm_deals.c.id)).scalar_one()
    assert (deal_id, bad_id) == (highest + 1, highest + 2)
    good, bad = crm.fetch_deals("C1:NEW", deal_id, bad_id)
    assert good.deal.amount == Decimal("1234567890123.45")
    assert bad.deal.amount == Decimal(0) and "amount: not a number ('abc')" in bad.problems


def test_reseeding_on_postgres_adds_new_ids(pg_seeded: tuple[LocalCrm, dict[int, str]], pg_engine: Engine) -> None:
    crm, _ = pg_seeded
    with pg_engine.connect() as conn:
        before = conn.execute(select(func.max(crm_deals.c.id))).scalar_one()
    summary = seed_demo(pg_engine, 20, now=FIXED_NOW)
    assert summary.first_deal_id == before + 1 and summary.last_deal_id == before + 20
    assert summary.managers == 0
    assert list(crm.iter_deal_ids(TRIGGER))[-20:] == list(range(before + 1, before + 21))
