"""Fixtures for the CRM tests: the embedded CRM on the per-test ledger, stages, and a raw-deal factory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from esign.crm import LocalCrm
from esign.crm.local_schema import (
    crm_companies,
    crm_contacts,
    crm_deal_contacts,
    crm_deal_items,
    crm_deals,
    crm_departments,
    crm_managers,
)
from esign.crm.seed import ensure_stages

FIXED_NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
TRIGGER = "C1:PREPARATION"

AddDeal = Callable[..., int]
BindContact = Callable[..., int]


@pytest.fixture
def crm(engine: Engine) -> LocalCrm:
    """The embedded CRM with the demo pipeline C1's stages and a fixed clock."""
    with engine.begin() as conn:
        ensure_stages(conn, "1")
    return LocalCrm(engine, clock=lambda: FIXED_NOW)


def _insert_one(engine: Engine, table: Any, values: dict[str, Any]) -> int:
    with engine.begin() as conn:
        return int(conn.execute(insert(table).values(**values).returning(table.c.id)).scalar_one())


@pytest.fixture
def add_deal(engine: Engine, crm: LocalCrm) -> AddDeal:
    """Insert one deal with raw values. Pass ``company=False`` / ``contact=False`` to leave them out,
    or dicts to override fields; ``items`` is a list of (description, quantity, unit_price) strings."""
    dept = _insert_one(engine, crm_departments, {"name": "Vendas SP"})
    manager = _insert_one(engine, crm_managers, {"name": "Júlio Monteiro", "email": "julio.monteiro@vendas.example.com",
                                                 "department_id": dept})
    default_company = {"name": "Construtora Horizonte Ltda.", "tax_id": "11.222.333/0001-81",
                       "address": "Rua Augusta, 1500 - Consolação, São Paulo - SP, 01304-001"}
    default_contact = {"name": "Márcia Magalhães", "title": "Diretora Financeira", "cpf": "529.982.247-25",
                       "email": "marcia.magalhaes@horizonte.example.com", "phone": "+5511987654321"}

    def make(*, company: dict[str, Any] | bool = True, contact: dict[str, Any] | bool = True,
             items: list[tuple[str | None, str | None, str | None]] | None = None, **deal: Any) -> int:
        company_id = None
        if company is not False:
            company_id = _insert_one(engine, crm_companies,
                                     {**default_company, **(company if isinstance(company, dict) else {})})
        contact_id = None
        if contact is not False:
            contact_id = _insert_one(engine, crm_contacts, {**default_contact, "company_id": company_id,
                                                            **(contact if isinstance(contact, dict) else {})})
        values = {"title": "Consultoria técnica", "amount": "19999.99", "currency": "BRL", "category_id": "1",
                  "stage_id": TRIGGER, "company_id": company_id, "contact_id": contact_id, "manager_id": manager,
                  "created_at": FIXED_NOW, "updated_at": FIXED_NOW, **deal}
        deal_id = _insert_one(engine, crm_deals, values)
        rows = [{"deal_id": deal_id, "position": i, "description": d, "quantity": q, "unit_price": p}
                for i, (d, q, p) in enumerate(items or [])]
        if rows:
            with engine.begin() as conn:
                conn.execute(insert(crm_deal_items), rows)
        return deal_id

    return make


@pytest.fixture
def bind_contact(engine: Engine) -> BindContact:
    """Bind a contact to a deal with a signing role: ``contact_id`` an existing one, or ``person`` a new one's
    fields; returns the contact's ID."""

    def bind(deal_id: int, role: str | None, *, sort: int = 10, primary: bool = False, contact_id: int | None = None,
             **person: Any) -> int:
        if contact_id is None:
            contact_id = _insert_one(engine, crm_contacts, person)
        with engine.begin() as conn:
            conn.execute(insert(crm_deal_contacts).values(deal_id=deal_id, contact_id=contact_id, sort=sort,
                                                          is_primary=primary, role=role))
        return contact_id

    return bind
