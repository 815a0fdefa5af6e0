"""Fixtures for the renderer: the project's templates, sample parties and deals, and PDF inspection helpers."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from esign.model import Deal, LineItem, Manager, Party
from esign.render import TemplateLibrary
from tests.render.helpers import TEMPLATES_DIR


@pytest.fixture(scope="session")
def library() -> TemplateLibrary:
    return TemplateLibrary(TEMPLATES_DIR)


@pytest.fixture
def company() -> Party:
    return Party(name="Acme Serviços Digitais Ltda", tax_id="11.222.333/0001-81",
                 address="Av. Paulista, 1000, 10º andar, São Paulo/SP, 01310-100",
                 representative="Maria Aparecida Souza", representative_title="Diretora Executiva",
                 email="contratos@acme.com.br", phone="+55 11 3000-1000")


@pytest.fixture
def counterparty() -> Party:
    return Party(name="Ünïcödé Comércio e Serviços S.A.", tax_id="12.ABC.345/01DE-35",
                 address="Rua das Flores, 25, São Paulo/SP", representative="João da Silva",
                 representative_title="Sócio-administrador", email="joao@unicode.com.br", phone="+5511987654321")


@pytest.fixture
def make_deal(counterparty: Party) -> Callable[..., Deal]:
    def make(**changes: Any) -> Deal:
        values: dict[str, Any] = {
            "id": "4711", "title": "Implantação do CRM e treinamento", "amount": Decimal("16500.00"),
            "currency": "BRL", "counterparty": counterparty,
            "line_items": (LineItem("Consultoria de implantação (horas)", Decimal("80"), Decimal("150.00")),
                           LineItem("Treinamento da equipe", Decimal("2"), Decimal("2250.00"))),
            "manager": Manager(id="7", name="Ana Lima", email="ana.lima@acme.com.br"),
        }
        values.update(changes)
        return Deal(**values)
    return make

