"""The register's search on both databases: accents and case ignored, LIKE wildcards literal, CPF/CNPJ by digits
within the parties' scope, counts and pages that agree (PostgreSQL in a throwaway database, migrated to head)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from esign.register.folding import fold
from esign.register.queries import DocumentFilter, Scope, count, every_match, search
from esign.store import Ledger, init_schema, make_engine
from tests.prod.postgres import throwaway_database

NAMES = ["Transportes Leão Ltda.", "SÃO JOÃO METALÚRGICA", "Araucária Alimentos", "Peña & Núñez S.A.",
         "Cooperativa 50% Norte", "Ações_Gerais ME", "Leao Marinho Pescados"]


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    def fill(engine: Engine) -> Ledger:
        init_schema(engine)
        ledger = Ledger(engine)
        for n, name in enumerate(NAMES):
            ledger.create_document(deal_id=str(n), template_id="contrato", title=f"Contrato {n}",
                                   counterparty_name=name, counterparty_tax_id=f"12.345.678/0001-{n:02d}",
                                   manager_id=str(n % 2))
        return ledger

    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
        yield fill(engine)
        engine.dispose()
        return
    with throwaway_database("esign_register") as url:
        engine = make_engine(url)
        try:
            yield fill(engine)
        finally:
            engine.dispose()


EVERYTHING = Scope(None, None)


def _names(ledger: Ledger, text: str, scope: Scope = EVERYTHING) -> set[str]:
    return {r.counterparty_name for r in search(ledger.engine, DocumentFilter(text=text), scope, limit=50)}


@pytest.mark.parametrize(("term", "expected"), [
    ("leao", {"Transportes Leão Ltda.", "Leao Marinho Pescados"}),
    ("LEÃO", {"Transportes Leão Ltda.", "Leao Marinho Pescados"}),
    ("sao joao", {"SÃO JOÃO METALÚRGICA"}),
    ("metalurgica", {"SÃO JOÃO METALÚRGICA"}),
    ("araucaria", {"Araucária Alimentos"}),
    ("pena & nunez", {"Peña & Núñez S.A."}),
    ("50%", {"Cooperativa 50% Norte"}),
    ("0% n", {"Cooperativa 50% Norte"}),
    ("es_g", {"Ações_Gerais ME"}),
    ("ac_es", set()),  # "_" is a character, not LIKE's any-character
    ("n%e", set()),  # nor "%" any string
])
def test_accent_and_case_insensitive_with_literal_wildcards(ledger: Ledger, term: str, expected: set[str]) -> None:
    assert _names(ledger, term) == expected


def test_tax_ids_by_digits_only_within_the_parties_scope(ledger: Ledger) -> None:
    assert _names(ledger, "1234567800010") == set(NAMES)  # every tax ID starts with these digits
    assert _names(ledger, "12.345.678/0001-03") == {NAMES[3]}
    manager_one = Scope(None, frozenset({"1"}))  # may see the parties of manager 1's deals only
    assert _names(ledger, "12345678000103", manager_one) == {NAMES[3]}
    assert _names(ledger, "12345678000102", manager_one) == set()
    assert _names(ledger, "12345678000102", Scope(None, frozenset())) == set()


def test_counts_pages_and_the_full_walk_agree(ledger: Ledger) -> None:
    everything, mine = Scope(None, None), Scope(frozenset({"0"}), None)
    assert count(ledger.engine, DocumentFilter(), everything) == len(NAMES)
    assert count(ledger.engine, DocumentFilter(), mine) == 4
    assert count(ledger.engine, DocumentFilter(), Scope(frozenset(), None)) == 0
    pages = [search(ledger.engine, DocumentFilter(), everything, limit=3, offset=o) for o in (0, 3, 6)]
    flat = [r.id for page in pages for r in page]
    assert len(flat) == len(set(flat)) == len(NAMES)
    assert [r.id for r in every_match(ledger.engine, DocumentFilter(), everything, chunk=2)] == flat
    assert count(ledger.engine, DocumentFilter(text="leao"), everything) == 2


def test_python_folding_matches_the_table() -> None:
    assert fold("Ação Çedilha ÑANDÚ Øresund Ÿ") == "acao cedilha nandu oresund y"
