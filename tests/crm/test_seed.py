from __future__ import annotations

import re
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from esign.crm import CrmStageMap, LocalCrm, seed_demo
from esign.crm.local_schema import (
    crm_companies,
    crm_contacts,
    crm_deal_contacts,
    crm_deal_items,
    crm_deals,
    crm_departments,
    crm_managers,
    crm_stages,
    crm_timeline,
)
from esign.crm.seed import BROKEN_KINDS, SIGNERS_EVERY, broken_count
from esign.model import SignerRole
from esign.model.signers import arrange
from esign.store import init_schema, make_engine
from esign.validate import email_problem, is_valid_cnpj, is_valid_cpf, phone_problem, validate_deal

from .conftest import FIXED_NOW, TRIGGER

TABLES = (crm_stages, crm_departments, crm_managers, crm_companies, crm_contacts, crm_deals, crm_deal_items,
          crm_deal_contacts)
MOBILE = re.compile(r"\+55(?P<area>[1-9][1-9])9[6-9]\d{7}")
CONTACT_EMAIL = re.compile(r"[a-z]+\.[a-z]+\d*@[a-z0-9]+\.example\.com")


def _dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                for t in TABLES}


def _fresh(tmp_path: Path, name: str) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / name}")
    init_schema(engine)
    return engine


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, Any]:
    """One CRM with 300 demo deals, shared by the read-only checks below."""
    engine = _fresh(tmp_path_factory.mktemp("seed"), "crm.db")
    summary = seed_demo(engine, 300, now=FIXED_NOW)
    return engine, summary


def test_same_seed_same_data(tmp_path: Path) -> None:
    first, second = _fresh(tmp_path, "a.db"), _fresh(tmp_path, "b.db")
    assert seed_demo(first, 80, rng_seed=11, now=FIXED_NOW) == seed_demo(second, 80, rng_seed=11, now=FIXED_NOW)
    assert _dump(first) == _dump(second)
    other = _fresh(tmp_path, "c.db")
    seed_demo(other, 80, rng_seed=12, now=FIXED_NOW)
    assert _dump(other)["crm_companies"] != _dump(first)["crm_companies"]


def test_summary_counts_match_the_tables(seeded: tuple[Engine, Any]) -> None:
    engine, summary = seeded
    assert summary.deals == 300 == _count(engine, crm_deals)
    assert summary.companies == _count(engine, crm_companies) > 100
    assert summary.contacts == _count(engine, crm_contacts) >= summary.companies
    assert summary.managers == _count(engine, crm_managers) == 11
    assert (summary.first_deal_id, summary.last_deal_id) == (1, 300)
    assert _count(engine, crm_timeline) == 0


def test_every_deal_starts_in_the_trigger_stage_and_the_stage_map_fits(seeded: tuple[Engine, Any]) -> None:
    engine, _ = seeded
    crm = LocalCrm(engine)
    CrmStageMap().validate(crm.list_stages())
    assert len(list(crm.iter_deal_ids(TRIGGER))) == 300
    names = {s.id: s.name for s in crm.list_stages()}
    assert names["C1:PREPARATION"] == "Preparação de contrato" and names["C1:WON"] == "Contrato assinado"


def test_generated_documents_and_contacts_are_valid_except_the_broken(seeded: tuple[Engine, Any]) -> None:
    engine, summary = seeded
    broken = summary.broken
    assert len(broken) == broken_count(300) == 12
    assert Counter(broken.values()) == dict.fromkeys(BROKEN_KINDS, 3)
    crm = LocalCrm(engine)
    fetched = crm.fetch_deals(TRIGGER, 1, 300)
    assert len(fetched) == 300
    people = sms_only = 0
    for item in fetched:
        party = item.deal.counterparty
        assert item.problems == (), item.problems
        if item.deal_id in broken:
            continue
        assert validate_deal(item.deal) == [], (item.deal_id, validate_deal(item.deal))
        if party.representative:
            assert is_valid_cnpj(party.tax_id) and re.fullmatch(r"\d\d\.\d{3}\.\d{3}/0001-\d\d", party.tax_id)
            assert party.address.endswith(tuple(f"-{n:03d}" for n in range(1000)))
            assert party.representative_title
        else:
            people += 1
            assert is_valid_cpf(party.tax_id) and re.fullmatch(r"\d{3}\.\d{3}\.\d{3}-\d\d", party.tax_id)
        if party.email or party.representative:  # every other person is reachable by SMS only
            assert email_problem(party.email) is None and CONTACT_EMAIL.fullmatch(party.email), party.email
        else:
            sms_only += 1
        assert phone_problem(party.phone) is None and MOBILE.fullmatch(party.phone), party.phone
        assert item.deal.manager is not None and item.deal.manager.department
    assert 10 <= people <= 90  # about 15% of the deals are with a person
    assert 0 < sms_only < people


def test_broken_deals_are_exactly_the_ones_validation_quarantines(seeded: tuple[Engine, Any]) -> None:
    engine, summary = seeded
    fetched = {f.deal_id: f for f in LocalCrm(engine).fetch_deals(TRIGGER, 1, 300)}
    expected_field = {"no_email_no_phone": "counterparty.email", "bad_phone": "counterparty.phone",
                      "empty_company_name": "counterparty.name", "missing_cnpj": "counterparty.tax_id"}
    for deal_id, kind in summary.broken.items():
        errors = validate_deal(fetched[deal_id].deal)
        assert [e.field for e in errors] == [expected_field[kind]], (kind, errors)
    quarantined = {i for i, f in fetched.items() if validate_deal(f.deal)}
    assert quarantined == set(summary.broken)
    assert fetched[next(i for i, k in summary.broken.items() if k == "bad_phone")].deal.counterparty.phone == "12345"


def test_every_fifth_healthy_company_deal_has_two_signers_two_witnesses_and_a_copy(
        seeded: tuple[Engine, Any]) -> None:
    engine, summary = seeded
    fetched = {f.deal_id: f for f in LocalCrm(engine).fetch_deals(TRIGGER, 1, 300)}
    several = {i for i, f in fetched.items() if f.deal.signers}
    assert several == set(summary.several_signers)
    assert 30 <= len(several) <= 300 // SIGNERS_EVERY  # most deals keep their one signer
    assert several.isdisjoint(summary.broken)
    for deal_id in several:
        deal = fetched[deal_id].deal
        assert deal_id % SIGNERS_EVERY == 0 and deal.counterparty.representative
        assert [s.role for s in deal.signers] == [SignerRole.SIGNER, SignerRole.SIGNER, SignerRole.WITNESS,
                                                  SignerRole.WITNESS, SignerRole.COPY]
        first = deal.signers[0]
        assert (first.name, first.email, first.phone) == (deal.counterparty.representative, deal.counterparty.email,
                                                          deal.counterparty.phone)
        assert all(is_valid_cpf(s.tax_id) and s.email and s.phone for s in deal.signers)
        assert len({s.email for s in deal.signers}) == len({s.phone for s in deal.signers}) == 5
        assert validate_deal(deal) == []
        assert [s.slot for s in arrange(deal.signers, "parallel")] == ["client", "client_2", "witness_1",
                                                                       "witness_2", ""]


def test_no_several_signers_when_asked(tmp_path: Path) -> None:
    engine = _fresh(tmp_path, "crm.db")
    summary = seed_demo(engine, 20, signers_every=0, now=FIXED_NOW)
    assert summary.several_signers == () and _count(engine, crm_deal_contacts) == 0
    assert not any(f.deal.signers for f in LocalCrm(engine).fetch_deals(TRIGGER, 1, 20))


def test_amounts_are_the_sum_of_the_line_items(seeded: tuple[Engine, Any]) -> None:
    engine, _ = seeded
    for item in LocalCrm(engine).fetch_deals(TRIGGER, 1, 300):
        deal = item.deal
        assert 1 <= len(deal.line_items) <= 5
        assert deal.amount == sum((i.total for i in deal.line_items), Decimal(0)) > 0
        assert deal.amount == deal.amount.quantize(Decimal("0.01")) and deal.currency == "BRL"
        assert deal.title and deal.title.endswith(deal.counterparty.name or deal.counterparty.representative)


def test_names_are_portuguese_with_accents_and_documents_unique(seeded: tuple[Engine, Any]) -> None:
    engine, _ = seeded
    with engine.connect() as conn:
        names = list(conn.execute(select(crm_contacts.c.name)).scalars())
        cpfs = [c for c in conn.execute(select(crm_contacts.c.cpf)).scalars()]
        emails = [e for e in conn.execute(select(crm_contacts.c.email)).scalars() if e]
        cnpjs = [c for c in conn.execute(select(crm_companies.c.tax_id)).scalars() if c]
        dates = list(conn.execute(select(crm_deals.c.created_at, crm_deals.c.updated_at)))
    assert sum(1 for n in names if any(ch in n for ch in "áâãàçéêíóôõúÁÂÉÍÓÚ")) > len(names) // 4
    for values in (cpfs, emails, cnpjs):
        assert len(values) == len(set(values))
    for created, updated in dates:
        assert created <= updated <= FIXED_NOW.replace(tzinfo=None)


def test_reseeding_adds_deals_with_new_ids_and_unique_documents(tmp_path: Path) -> None:
    engine = _fresh(tmp_path, "crm.db")
    first = seed_demo(engine, 40, now=FIXED_NOW)
    second = seed_demo(engine, 40, now=FIXED_NOW)  # same seed: still new companies, not copies
    assert (first.first_deal_id, first.last_deal_id) == (1, 40)
    assert (second.first_deal_id, second.last_deal_id) == (41, 80)
    assert second.managers == 0 and _count(engine, crm_managers) == 11
    assert _count(engine, crm_stages) == 7
    assert _count(engine, crm_deals) == 80
    assert set(first.broken).isdisjoint(second.broken) and len(second.broken) == 3
    with engine.connect() as conn:
        cnpjs = [c for c in conn.execute(select(crm_companies.c.tax_id)).scalars() if c]
        emails = [e for e in conn.execute(select(crm_contacts.c.email)).scalars() if e]
        names = list(conn.execute(select(crm_companies.c.name)).scalars())
    assert len(cnpjs) == len(set(cnpjs)) and len(emails) == len(set(emails))
    assert names[: first.companies] != names[first.companies:]


def test_another_pipeline(tmp_path: Path) -> None:
    engine = _fresh(tmp_path, "crm.db")
    seed_demo(engine, 12, category_id="0", now=FIXED_NOW)
    crm = LocalCrm(engine)
    assert {s.id for s in crm.list_stages()} >= {"NEW", "PREPARATION", "WON", "LOSE"}
    CrmStageMap.for_category("0").validate(crm.list_stages())
    assert len(list(crm.iter_deal_ids("PREPARATION"))) == 12
    assert crm.fetch_deals("PREPARATION", 1, 12)[0].deal.category_id == "0"


@pytest.mark.parametrize(("deals", "expected"), [(0, 0), (1, 0), (9, 0), (10, 3), (75, 3), (100, 4), (1000, 40)])
def test_broken_count(deals: int, expected: int) -> None:
    assert broken_count(deals) == expected


def test_small_and_clean_seeds(tmp_path: Path) -> None:
    engine = _fresh(tmp_path, "crm.db")
    empty = seed_demo(engine, 0, now=FIXED_NOW)
    assert (empty.deals, empty.first_deal_id, empty.broken) == (0, None, {})
    assert _count(engine, crm_stages) == 7  # stages and managers are there for a later run
    clean = seed_demo(engine, 30, broken=0, now=FIXED_NOW)
    assert clean.broken == {}
    fetched = LocalCrm(engine).fetch_deals(TRIGGER, 1, 10**6)
    assert len(fetched) == 30 and all(validate_deal(f.deal) == [] for f in fetched)
    all_broken = seed_demo(engine, 4, broken=4, now=FIXED_NOW)
    assert sorted(all_broken.broken.values()) == sorted(BROKEN_KINDS)


@pytest.mark.parametrize(("deals", "broken", "every", "message"),
                         [(-1, None, 5, "deals"), (5, 6, 5, "broken"), (5, -1, 5, "broken"), (5, 0, -1, "signers")])
def test_bad_arguments(engine: Engine, deals: int, broken: int | None, every: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        seed_demo(engine, deals, broken=broken, signers_every=every)
    assert _count(engine, crm_stages) == 0


def test_seeding_10000_deals_takes_seconds(tmp_path: Path) -> None:
    engine = _fresh(tmp_path, "big.db")
    started = time.perf_counter()
    summary = seed_demo(engine, 10_000)
    elapsed = time.perf_counter() - started
    assert summary.deals == 10_000 and len(summary.broken) == 400
    assert _count(engine, crm_deal_items) >= 10_000
    assert elapsed < 30, f"seeding 10,000 deals took {elapsed:.1f}s"  # about 2 s here; generous on a busy CI
