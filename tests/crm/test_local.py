from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select

from esign.crm import CrmClient, FetchedDeal, LocalCrm, StageInfo
from esign.crm.local_schema import crm_deal_items, crm_timeline, crm_timeline_files
from esign.errors import CrmError
from esign.model import LineItem, Manager, Party

from .conftest import FIXED_NOW, TRIGGER, AddDeal


@pytest.fixture
def deal_selects(engine: Engine) -> Iterator[list[str]]:
    """Every SELECT on crm_deals this test runs, to count pages."""
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM crm_deals" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", listen)
    yield seen
    event.remove(engine, "before_cursor_execute", listen)


def _many(add_deal: AddDeal, n: int, stage: str = TRIGGER) -> list[int]:
    return [add_deal(company=False, contact=False, stage_id=stage) for _ in range(n)]


def test_local_crm_is_a_crm_client(crm: LocalCrm) -> None:
    assert isinstance(crm, CrmClient)
    assert crm.name == "local"


def test_list_stages_in_pipeline_order(crm: LocalCrm) -> None:
    stages = crm.list_stages()
    assert [s.id for s in stages] == ["C1:NEW", "C1:UC_REVIEW", "C1:PREPARATION", "C1:EXECUTING", "C1:WON",
                                      "C1:LOSE", "C1:UC_EXPIRED"]
    assert StageInfo("C1:WON", "Contrato assinado", "1", "S") in stages
    assert StageInfo("C1:PREPARATION", "Preparação de contrato", "1", None) in stages
    assert {s.id: s.semantics for s in stages}["C1:LOSE"] == "F"


def test_iter_deal_ids_pages_of_50_in_id_order(crm: LocalCrm, add_deal: AddDeal,
                                               deal_selects: list[str]) -> None:
    wanted = []
    for i in range(123):
        wanted.append(add_deal(company=False, contact=False))
        if i % 10 == 0:  # deals of other stages in between must be skipped
            add_deal(company=False, contact=False, stage_id="C1:NEW")
    deal_selects.clear()
    ids = list(crm.iter_deal_ids(TRIGGER))
    assert ids == sorted(wanted) and len(ids) == 123
    assert len(deal_selects) == 3  # 50 + 50 + 23: a short page ends the listing


def test_iter_deal_ids_exact_page_multiple_needs_one_empty_page(crm: LocalCrm, add_deal: AddDeal,
                                                                 deal_selects: list[str]) -> None:
    wanted = _many(add_deal, 100)
    deal_selects.clear()
    assert list(crm.iter_deal_ids(TRIGGER)) == wanted
    assert len(deal_selects) == 3


def test_iter_deal_ids_limit(crm: LocalCrm, add_deal: AddDeal, deal_selects: list[str]) -> None:
    wanted = _many(add_deal, 60)
    assert list(crm.iter_deal_ids(TRIGGER, limit=7)) == wanted[:7]
    assert list(crm.iter_deal_ids(TRIGGER, limit=55)) == wanted[:55]
    deal_selects.clear()
    assert list(crm.iter_deal_ids(TRIGGER, limit=50)) == wanted[:50]
    assert len(deal_selects) == 1  # the limit is reached: no further page is asked for
    assert list(crm.iter_deal_ids(TRIGGER, limit=0)) == []
    assert list(crm.iter_deal_ids(TRIGGER, limit=1000)) == wanted
    with pytest.raises(ValueError, match="limit"):
        list(crm.iter_deal_ids(TRIGGER, limit=-1))


def test_iter_deal_ids_unknown_or_empty_stage(crm: LocalCrm, add_deal: AddDeal) -> None:
    _many(add_deal, 3)
    assert list(crm.iter_deal_ids("C1:WON")) == []
    assert list(crm.iter_deal_ids("C9:NOPE")) == []


def test_iter_deal_ids_sees_changes_between_pages(crm: LocalCrm, add_deal: AddDeal) -> None:
    """Each page is its own query: a deal moved away while listing is not yielded, none is repeated."""
    wanted = _many(add_deal, 120)
    iterator = crm.iter_deal_ids(TRIGGER)
    first_page = [next(iterator) for _ in range(50)]
    crm.move_deal(wanted[70], "C1:NEW")
    crm.delete_deal(wanted[110])
    rest = list(iterator)
    assert first_page == wanted[:50]
    assert rest == [i for i in wanted[50:] if i not in (wanted[70], wanted[110])]


def test_page_size_is_configurable_and_checked(engine: Engine, add_deal: AddDeal) -> None:
    wanted = _many(add_deal, 7)
    assert list(LocalCrm(engine, page_size=2).iter_deal_ids(TRIGGER)) == wanted
    with pytest.raises(ValueError, match="page_size"):
        LocalCrm(engine, page_size=0)


def test_fetch_deals_range_is_inclusive_ascending_and_stage_filtered(crm: LocalCrm, add_deal: AddDeal) -> None:
    ids = _many(add_deal, 10)
    crm.move_deal(ids[4], "C1:EXECUTING")
    fetched = crm.fetch_deals(TRIGGER, ids[2], ids[6])
    assert [f.deal_id for f in fetched] == [ids[2], ids[3], ids[5], ids[6]]
    assert [f.deal_id for f in crm.fetch_deals("C1:EXECUTING", ids[0], ids[-1])] == [ids[4]]
    assert [f.deal_id for f in crm.fetch_deals(TRIGGER, ids[3], ids[3])] == [ids[3]]
    assert crm.fetch_deals(TRIGGER, ids[6], ids[2]) == []
    assert crm.fetch_deals(TRIGGER, ids[-1] + 1, ids[-1] + 100) == []


def test_deal_deleted_between_list_and_fetch_is_absent(crm: LocalCrm, add_deal: AddDeal) -> None:
    ids = _many(add_deal, 5)
    listed = list(crm.iter_deal_ids(TRIGGER))
    assert crm.delete_deal(ids[2]) is True
    fetched = crm.fetch_deals(TRIGGER, listed[0], listed[-1])
    assert [f.deal_id for f in fetched] == [ids[0], ids[1], ids[3], ids[4]]
    assert crm.get_deal_stage(ids[2]) is None
    assert crm.delete_deal(ids[2]) is False


def test_fetch_company_deal_normalised(crm: LocalCrm, add_deal: AddDeal) -> None:
    deal_id = add_deal(items=[("Consultoria técnica (40 horas)", "40", "250.50"),
                              ("Licença anual de software", "3", "0.10")])
    [fetched] = crm.fetch_deals(TRIGGER, deal_id, deal_id)
    assert fetched.problems == ()
    deal = fetched.deal
    assert deal.id == str(deal_id) and deal.title == "Consultoria técnica"
    assert deal.amount == Decimal("19999.99") and str(deal.amount) == "19999.99"
    assert deal.currency == "BRL" and deal.stage_id == TRIGGER and deal.category_id == "1"
    assert deal.counterparty == Party(
        name="Construtora Horizonte Ltda.", tax_id="11.222.333/0001-81",
        address="Rua Augusta, 1500 - Consolação, São Paulo - SP, 01304-001",
        representative="Márcia Magalhães", representative_title="Diretora Financeira",
        email="marcia.magalhaes@horizonte.example.com", phone="+5511987654321",
    )
    assert deal.line_items == (LineItem("Consultoria técnica (40 horas)", Decimal("40"), Decimal("250.50")),
                               LineItem("Licença anual de software", Decimal("3"), Decimal("0.10")))
    assert sum(i.total for i in deal.line_items) == Decimal("10020.30")
    assert deal.manager is not None
    assert deal.manager == Manager(id=deal.manager.id, name="Júlio Monteiro",
                                   email="julio.monteiro@vendas.example.com", department="Vendas SP")


def test_fetch_person_deal_uses_contact_and_cpf(crm: LocalCrm, add_deal: AddDeal) -> None:
    deal_id = add_deal(company=False, contact={"name": "João Conceição", "title": "", "cpf": "529.982.247-25",
                                               "email": "joao.conceicao@email.example.com", "phone": None})
    [fetched] = crm.fetch_deals(TRIGGER, deal_id, deal_id)
    assert fetched.problems == ()
    assert fetched.deal.counterparty == Party(name="João Conceição", tax_id="529.982.247-25",
                                              email="joao.conceicao@email.example.com", phone="")


def test_fetch_never_raises_for_bad_values(crm: LocalCrm, add_deal: AddDeal) -> None:
    deal_id = add_deal(amount="abc", title=None, currency=" brl ", manager_id=None,
                       company={"name": None, "tax_id": None, "address": None},
                       contact={"email": None, "phone": "12345", "name": "  Ana Sá  ", "title": None},
                       items=[("Suporte", "x", "10.00"), (None, "2", "1e999999999999")])
    [fetched] = crm.fetch_deals(TRIGGER, deal_id, deal_id)
    deal = fetched.deal
    assert fetched.problems == (
        "amount: not a number ('abc')",
        "line_items[0].quantity: not a number ('x')",
        "line_items[1].unit_price: out of range ('1e999999999999')",
    )
    assert deal.amount == Decimal(0) and deal.title == "" and deal.currency == "BRL"
    assert deal.counterparty == Party(name="", tax_id="", address="", representative="Ana Sá",
                                      representative_title="", email="", phone="12345")
    assert deal.line_items[0] == LineItem("Suporte", Decimal(0), Decimal("10.00"))
    assert deal.line_items[1] == LineItem("", Decimal("2"), Decimal(0))
    assert all(item.total == Decimal(0) for item in deal.line_items)  # arithmetic on stand-ins is safe
    assert deal.manager is None


@pytest.mark.parametrize(("raw", "problem"), [
    (None, "amount: missing"),
    ("", "amount: missing"),
    ("NaN", "amount: not a number ('NaN')"),
    ("Infinity", "amount: not a number ('Infinity')"),
    ("1.234,56", "amount: not a number ('1.234,56')"),
    ("-1E+15", "amount: out of range ('-1E+15')"),
    ("9" * 45, "amount: not a number ('" + "9" * 40 + "...')"),
])
def test_unreadable_amounts_become_problems(crm: LocalCrm, add_deal: AddDeal, raw: str | None,
                                            problem: str) -> None:
    if raw is not None and len(raw) > 40:  # the column holds 40 characters: a long raw value is letters
        raw = "9" * 39 + "x"
        problem = f"amount: not a number ('{raw}')"
    deal_id = add_deal(amount=raw)
    [fetched] = crm.fetch_deals(TRIGGER, deal_id, deal_id)
    assert fetched.problems == (problem,)
    assert fetched.deal.amount == Decimal(0)


def test_amounts_stay_exact(crm: LocalCrm, add_deal: AddDeal) -> None:
    deal_id = add_deal(amount=" 0.10 ", items=[("a", "3", "0.10"), ("b", "0.5", "1234567890123.45")])
    [fetched] = crm.fetch_deals(TRIGGER, deal_id, deal_id)
    assert fetched.problems == ()
    assert fetched.deal.amount == Decimal("0.10")
    assert fetched.deal.line_items[1].unit_price == Decimal("1234567890123.45")
    assert sum(i.quantity * i.unit_price for i in fetched.deal.line_items) == Decimal("617283945062.025")


def test_deal_without_company_and_contact_is_a_problem(crm: LocalCrm, add_deal: AddDeal) -> None:
    deal_id = add_deal(company=False, contact=False)
    [fetched] = crm.fetch_deals(TRIGGER, deal_id, deal_id)
    assert fetched.problems == ("counterparty: the deal has no company and no contact",)
    assert fetched.deal.counterparty == Party(name="", tax_id="")


def test_one_bad_deal_does_not_spoil_the_batch(crm: LocalCrm, add_deal: AddDeal) -> None:
    good = add_deal()
    bad = add_deal(amount="abc", company={"name": ""})
    fetched = {f.deal_id: f for f in crm.fetch_deals(TRIGGER, good, bad)}
    assert fetched[good].problems == () and fetched[good].deal.counterparty.name == "Construtora Horizonte Ltda."
    assert fetched[bad].problems == ("amount: not a number ('abc')",)


def test_fetch_many_deals_in_one_range(crm: LocalCrm, add_deal: AddDeal) -> None:
    """Lookups are chunked: a range larger than one IN (...) list still resolves every party."""
    ids = [add_deal(items=[("x", "1", "1")]) for _ in range(520)]
    fetched = crm.fetch_deals(TRIGGER, ids[0], ids[-1])
    assert [f.deal_id for f in fetched] == ids
    assert all(f.problems == () and f.deal.counterparty.name and len(f.deal.line_items) == 1 for f in fetched)


def test_get_deal_stage(crm: LocalCrm, add_deal: AddDeal) -> None:
    deal_id = add_deal()
    assert crm.get_deal_stage(deal_id) == TRIGGER
    assert crm.get_deal_stage(deal_id + 1000) is None


def test_move_deal(engine: Engine, add_deal: AddDeal) -> None:
    later = FIXED_NOW.replace(hour=18)
    crm = LocalCrm(engine, clock=lambda: later)
    deal_id = add_deal()
    other = add_deal()
    crm.move_deal(deal_id, "C1:EXECUTING")
    assert crm.get_deal_stage(deal_id) == "C1:EXECUTING"
    assert crm.get_deal_stage(other) == TRIGGER
    [fetched] = crm.fetch_deals("C1:EXECUTING", deal_id, deal_id)
    assert fetched.deal.stage_id == "C1:EXECUTING"
    from esign.crm.local_schema import crm_deals
    with engine.connect() as conn:
        updated = conn.execute(select(crm_deals.c.updated_at).where(crm_deals.c.id == deal_id)).scalar_one()
    assert updated.replace(tzinfo=None) == later.replace(tzinfo=None)


def test_move_deal_to_unknown_stage_names_it(crm: LocalCrm, add_deal: AddDeal) -> None:
    deal_id = add_deal()
    with pytest.raises(CrmError, match=r"unknown deal stage 'C1:SIGNED'"):
        crm.move_deal(deal_id, "C1:SIGNED")
    assert crm.get_deal_stage(deal_id) == TRIGGER


def test_move_missing_deal(crm: LocalCrm) -> None:
    with pytest.raises(CrmError, match="deal 999 not found"):
        crm.move_deal(999, "C1:WON")


def test_move_deal_to_another_pipeline_is_refused(engine: Engine, crm: LocalCrm, add_deal: AddDeal) -> None:
    from esign.crm.seed import ensure_stages
    with engine.begin() as conn:
        ensure_stages(conn, "0")
    deal_id = add_deal()
    with pytest.raises(CrmError, match="pipeline 0"):
        crm.move_deal(deal_id, "WON")
    assert crm.get_deal_stage(deal_id) == TRIGGER


def test_add_comment_with_files_round_trips_bytes(crm: LocalCrm, add_deal: AddDeal) -> None:
    deal_id = add_deal()
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\x00\r\n%%EOF"
    first = crm.add_comment(deal_id, "Contrato enviado para assinatura ✍️")
    second = crm.add_comment(deal_id, "Contrato assinado", files=[("contrato_42.pdf", pdf),
                                                                  ("certificado.txt", b"")])
    assert first != second and int(second) > int(first)
    comments = crm.comments(deal_id)
    assert [c.id for c in comments] == [first, second]
    assert comments[0].text == "Contrato enviado para assinatura ✍️" and comments[0].files == ()
    assert comments[1].files == (("contrato_42.pdf", pdf), ("certificado.txt", b""))
    assert comments[1].deal_id == deal_id
    assert comments[1].created_at.replace(tzinfo=None) == FIXED_NOW.replace(tzinfo=None)
    assert crm.comments(add_deal()) == []


def test_add_comment_to_missing_deal(crm: LocalCrm, engine: Engine) -> None:
    with pytest.raises(CrmError, match="deal 4242 not found"):
        crm.add_comment(4242, "texto", files=[("a.pdf", b"x")])
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(crm_timeline)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(crm_timeline_files)).scalar_one() == 0


@pytest.mark.parametrize(("files", "message"), [
    ([("  ", b"x")], "has no name"),
    ([("a.pdf", "not bytes")], "is not bytes"),
])
def test_add_comment_rejects_bad_files(crm: LocalCrm, add_deal: AddDeal, files: Any, message: str) -> None:
    deal_id = add_deal()
    with pytest.raises(CrmError, match=message):
        crm.add_comment(deal_id, "texto", files=files)
    assert crm.comments(deal_id) == []


def test_delete_deal_removes_items_and_timeline(crm: LocalCrm, add_deal: AddDeal, engine: Engine) -> None:
    deal_id = add_deal(items=[("a", "1", "1")])
    keep = add_deal(items=[("b", "1", "1")])
    crm.add_comment(deal_id, "x", files=[("a.pdf", b"1")])
    crm.add_comment(keep, "y", files=[("b.pdf", b"2")])
    assert crm.delete_deal(deal_id)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(crm_deal_items)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(crm_timeline_files)).scalar_one() == 1
    assert [c.text for c in crm.comments(keep)] == ["y"]


def test_fetched_deal_id(crm: LocalCrm, add_deal: AddDeal) -> None:
    deal_id = add_deal()
    [fetched] = crm.fetch_deals(TRIGGER, deal_id, deal_id)
    assert isinstance(fetched, FetchedDeal) and fetched.deal_id == deal_id


def test_people_and_departments_of_the_embedded_crm(crm: LocalCrm, add_deal: AddDeal) -> None:
    from esign.crm.base import Department, Person

    deal_id = add_deal()
    manager = crm.fetch_deals(TRIGGER, deal_id, deal_id)[0].deal.manager
    assert manager is not None
    people = crm.people([manager.id, "999", "x"])
    assert list(people) == [manager.id]
    person = people[manager.id]
    assert person == Person(id=manager.id, name="Júlio Monteiro", email="julio.monteiro@vendas.example.com",
                            department_ids=person.department_ids)
    (dept,) = person.department_ids
    assert Department(id=dept, name="Vendas SP") in crm.departments()
    assert crm.people_in({dept}) == {manager.id} and crm.people_in(set()) == set()


def test_stage_counts_and_contact_names_for_the_demo(crm: LocalCrm, add_deal: AddDeal) -> None:
    assert crm.stage_counts() == {}
    signer = add_deal()
    nameless = add_deal(contact={"name": None})
    alone = add_deal(contact=False, stage_id="C1:NEW")
    assert crm.stage_counts() == {TRIGGER: 2, "C1:NEW": 1}
    assert crm.contact_name(signer) == "Márcia Magalhães"
    assert crm.contact_name(nameless) is None and crm.contact_name(alone) is None and crm.contact_name(10**9) is None
