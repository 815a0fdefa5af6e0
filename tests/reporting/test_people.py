"""Managers' names and departments in the signing report come from the CRM protocol, not from the ledger's tables.

The ledger here has no embedded-CRM table at all (Bitrix24 in production); the people live only in a fake
Bitrix24 portal served over HTTP. A CRM that cannot be asked leaves the managers shown by ID with a note.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import Engine

from esign.crm.base import CrmClient
from esign.crm.bitrix24 import Bitrix24Crm, Bitrix24Settings, WebhookUrl
from esign.errors import ConfigError
from esign.i18n import translator
from esign.reporting import ManagerNames, ReportLocale, ask_crm, build_signing_report, generate_report, period_people
from esign.reporting.signing_page import managers
from esign.store import make_engine
from esign.store.schema import metadata
from tests.crm.bitrix24.conftest import FakeClock, make_portal
from tests.crm.bitrix24.fake_portal import FakePortal, PortalError, Running

from .conftest import SINCE, UNTIL, ZONE, populate


@pytest.fixture
def bare_url(tmp_path: Path) -> str:
    """The scenario in a ledger without the embedded CRM's tables: only the managers' IDs (1 and 2) are known."""
    url = f"sqlite:///{tmp_path / 'no-crm.db'}"
    engine = make_engine(url)
    metadata.create_all(engine, tables=[t for name, t in metadata.tables.items() if not name.startswith("crm_")])
    populate(engine, with_crm=False)
    engine.dispose()
    return url


@pytest.fixture
def bare_engine(bare_url: str) -> Iterator[Engine]:
    engine = make_engine(bare_url)
    yield engine
    engine.dispose()


@pytest.fixture
def portal() -> Iterator[tuple[FakePortal, Bitrix24Crm]]:
    """A fake portal where user 1 is Júlio Monteiro (Vendas SP) and user 2 Ana Prado (no department)."""
    clock = FakeClock()
    portal = make_portal()
    portal.clock = clock
    running = Running(portal)
    client = Bitrix24Crm(Bitrix24Settings(WebhookUrl.parse(running.webhook(portal))), clock=clock, sleep=clock.sleep)
    yield portal, client
    client.close()
    running.stop()


def _soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def _rows(soup: BeautifulSoup, table_id: str) -> list[list[str]]:
    return [[td.get_text() for td in tr.select("td")] for tr in soup.select(f"table#{table_id} tbody tr")]


def test_names_and_departments_come_from_bitrix24(bare_url: str, bare_engine: Engine,
                                                  portal: tuple[FakePortal, Bitrix24Crm]) -> None:
    fake, client = portal
    people = period_people(bare_url, SINCE, UNTIL, client)
    assert people == ManagerNames(names={"1": "Júlio Monteiro", "2": "Ana Prado"}, departments={"1": "Vendas SP"})
    assert fake.commands == ["user.get", "department.get"]  # one read of the period's managers, one of the tree
    report = build_signing_report(bare_engine, SINCE, UNTIL, people=ManagerNames.from_json(people.to_json()))
    assert report.managers.set_index("manager")["documents"].to_dict() == {"Júlio Monteiro": 3, "Ana Prado": 3}
    departments = report.departments.fillna({"department": "?"})
    assert departments.set_index("department")["documents"].to_dict() == {"Vendas SP": 3, "?": 3}
    soup = _soup(managers(report, translator("pt_BR", ZONE)))
    assert {row[0] for row in _rows(soup, "managers")} == {"Júlio Monteiro", "Ana Prado"}
    assert {row[0] for row in _rows(soup, "departments")} == {"Vendas SP", "(departamento desconhecido)"}
    assert soup.select_one("p.note") is None


def test_an_unreachable_crm_shows_the_managers_by_id_with_a_note(bare_engine: Engine,
                                                                 portal: tuple[FakePortal, Bitrix24Crm]) -> None:
    fake, client = portal
    fake.deleted = True  # every call answers 500 PORTAL_DELETED (fatal, not retried)
    people = ask_crm(client, ["1", "2", None, float("nan")])
    assert people == ManagerNames(people_unread=True)
    report = build_signing_report(bare_engine, SINCE, UNTIL, people=people)
    soup = _soup(managers(report, translator("pt_BR", ZONE)))
    assert {row[0] for row in _rows(soup, "managers")} == {"Responsável 1", "Responsável 2"}
    assert soup.select_one("p#people-unread").get_text() == (
        "Não foi possível consultar o CRM para obter os nomes dos responsáveis: eles aparecem pelo ID.")

    def unconfigured() -> CrmClient:
        raise ConfigError("ESIGN_BITRIX24_WEBHOOK_URL: not set")

    assert ask_crm(unconfigured, ["1"]) == ManagerNames(people_unread=True)  # opening it fails the same soft way
    assert ask_crm(unconfigured, [None]) == ManagerNames()  # no manager in the period: the CRM is not asked


def test_without_the_structure_scope_names_stay_and_departments_are_unknown(
        bare_engine: Engine, portal: tuple[FakePortal, Bitrix24Crm]) -> None:
    fake, client = portal
    fake.denied_methods["department.get"] = PortalError(403, "insufficient_scope", "")
    people = ask_crm(client, ["1", "2"])
    assert people == ManagerNames(names={"1": "Júlio Monteiro", "2": "Ana Prado"}, structure_unread=True)
    report = build_signing_report(bare_engine, SINCE, UNTIL, people=people)
    soup = _soup(managers(report, translator("es", ZONE)))
    assert {row[0] for row in _rows(soup, "managers")} == {"Júlio Monteiro", "Ana Prado"}
    assert "los departamentos son desconocidos" in soup.select_one("p#structure-unread").get_text()


def test_the_published_report_names_the_crms_people(bare_url: str, tmp_path: Path,
                                                    portal: tuple[FakePortal, Bitrix24Crm]) -> None:
    """End to end: the runner asks the CRM, the notebook (another process) shows the names it was handed."""
    _fake, client = portal
    page = generate_report(bare_url, SINCE, UNTIL, tmp_path, where=ReportLocale("pt_BR", ZONE), pdf=False,
                           crm=lambda: client)
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    assert {row[0] for row in _rows(soup, "managers")} == {"Júlio Monteiro", "Ana Prado"}
    assert "Vendas SP" in {row[0] for row in _rows(soup, "departments")}
    assert soup.select_one("p.note#people-unread") is None
