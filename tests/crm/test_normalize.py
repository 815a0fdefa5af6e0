"""Normalising raw records the way a REST connector hands them over (dangling links cannot occur locally)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from esign.crm.normalize import (
    RawCompany,
    RawContact,
    RawDeal,
    RawItem,
    RawManager,
    normalize_deal,
    parse_decimal,
)
from esign.model import Manager, Party


def test_dangling_company_keeps_the_contact_details() -> None:
    fetched = normalize_deal(RawDeal(id=7, amount="10", company_id="9", contact_id="84",
                                     contact=RawContact(id="84", name="Ana", email=" ana@x.example.com ",
                                                        phone="+5511987654321")))
    assert fetched.problems == ("company: #9 not found",)
    assert fetched.deal.counterparty == Party(name="", tax_id="", email="ana@x.example.com", phone="+5511987654321")


def test_dangling_contact_leaves_the_company_without_representative() -> None:
    fetched = normalize_deal(RawDeal(id=7, amount="10", company_id="9", contact_id="84",
                                     company=RawCompany(id="9", name="Ipê Ltda.", tax_id="11.222.333/0001-81")))
    assert fetched.problems == ("contact: #84 not found",)
    assert fetched.deal.counterparty == Party(name="Ipê Ltda.", tax_id="11.222.333/0001-81")


def test_bitrix_style_strings_and_nulls() -> None:
    fetched = normalize_deal(RawDeal(
        id=37, title="Contrato", amount="19999.99", currency="brl", stage_id="C1:NEW", category_id=None,
        contact=RawContact(id="1", name="José Simões", cpf="529.982.247-25"),
        manager=RawManager(id="1", name=None, email=None, department=None),
        items=[RawItem("Suporte", "2", "0.005")],
    ))
    assert fetched.problems == ()
    deal = fetched.deal
    assert (deal.id, deal.currency, deal.category_id) == ("37", "BRL", "0")
    assert deal.manager == Manager(id="1", name="", email="", department="")
    assert deal.line_items[0].unit_price == Decimal("0.005") and deal.line_items[0].total == Decimal("0.01")


@pytest.mark.parametrize(("raw", "value", "problem"), [
    ("12", Decimal("12"), None),
    (" -3.50 ", Decimal("-3.50"), None),  # negative is a validation matter, not a reading one
    ("999999999999999.99", Decimal("999999999999999.99"), None),
    ("1E+15", Decimal(0), "x: out of range ('1E+15')"),
    ("1e999999999999", Decimal(0), "x: out of range ('1e999999999999')"),
    ("sNaN", Decimal(0), "x: not a number ('sNaN')"),
    ("-inf", Decimal(0), "x: not a number ('-inf')"),
    ("12 34", Decimal(0), "x: not a number ('12 34')"),
    (None, Decimal(0), "x: missing"),
    ("   ", Decimal(0), "x: missing"),
    (Decimal("5.5"), Decimal("5.5"), None),
])
def test_parse_decimal(raw: object, value: Decimal, problem: str | None) -> None:
    assert parse_decimal("x", raw) == (value, problem)
