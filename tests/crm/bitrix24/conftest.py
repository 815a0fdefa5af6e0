"""Fixtures for the Bitrix24 connector: a fake portal on a loopback port, a fake clock, a client factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from esign.crm.bitrix24 import Bitrix24Crm, Bitrix24Settings, WebhookUrl
from esign.crm.seed import STAGES
from tests.crm.bitrix24.fake_portal import FakePortal, Running


class FakeClock:
    """Monotonic time that only moves when someone sleeps: tests never wait, and record every pause."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_portal() -> FakePortal:
    portal = FakePortal()
    portal.add_pipeline(0, "Geral", [("NEW", "Novo", None), ("PREPARATION", "Preparação", None),
                                     ("WON", "Ganho", "S"), ("LOSE", "Perdido", "F")])
    portal.add_pipeline(1, "Contratos", [(code, name, sem) for code, name, _sort, sem in STAGES])
    portal.departments[3] = {"ID": "3", "NAME": "Vendas SP", "PARENT": "1", "UF_HEAD": "1"}
    portal.users[1] = {"ID": "1", "ACTIVE": True, "NAME": "Júlio", "LAST_NAME": "Monteiro",
                       "EMAIL": "julio.monteiro@vendas.example.com", "UF_DEPARTMENT": [3]}
    portal.users[2] = {"ID": "2", "ACTIVE": True, "NAME": "Ana", "LAST_NAME": "Prado",
                       "EMAIL": "ana.prado@vendas.example.com", "UF_DEPARTMENT": []}
    return portal


def fill(portal: FakePortal, n: int, *, stage: str = "C1:PREPARATION", first_id: int = 10,
         other_every: int = 7) -> list[int]:
    """``n`` deals in ``stage`` (IDs with gaps), plus a deal in another stage every ``other_every``.
    Every third deal shares the previous one's company; returns the IDs in ``stage``."""
    ids: list[int] = []
    deal_id = first_id
    for k in range(n):
        deal_id += 1 + (k % 3 == 0)  # gaps in the ID sequence
        if other_every and k % other_every == 0:
            portal.add_deal(deal_id, STAGE_ID="C1:NEW")
            deal_id += 1
        company_id = 5000 + (k - k % 3)
        portal.companies.setdefault(company_id, {
            "ID": str(company_id), "TITLE": f"Empresa {company_id} Ltda.", "UF_CRM_CNPJ": "11.222.333/0001-81",
            "ADDRESS": "Rua Augusta, 1500", "ADDRESS_CITY": "São Paulo", "ADDRESS_PROVINCE": "SP",
            "ADDRESS_POSTAL_CODE": None, "PHONE": [{"ID": "1", "VALUE_TYPE": "WORK", "VALUE": "+551133334444",
                                                     "TYPE_ID": "PHONE"}]})
        contact_id = 90000 + k
        portal.contacts[contact_id] = {
            "ID": str(contact_id), "NAME": "Márcia", "SECOND_NAME": None, "LAST_NAME": f"Souza {k}",
            "POST": "Diretora", "UF_CRM_CPF": "529.982.247-25", "COMPANY_ID": str(company_id),
            "EMAIL": [{"ID": "11", "VALUE_TYPE": "HOME", "VALUE": f"casa{k}@example.com", "TYPE_ID": "EMAIL"},
                      {"ID": "12", "VALUE_TYPE": "WORK", "VALUE": f"marcia{k}@empresa.example.com",
                       "TYPE_ID": "EMAIL"}],
            "PHONE": [{"ID": "13", "VALUE_TYPE": "MOBILE", "VALUE": "+5511987654321", "TYPE_ID": "PHONE"}]}
        portal.add_deal(deal_id, TITLE=f"Contrato {deal_id}", STAGE_ID=stage, OPPORTUNITY=f"{1000 + k}.{k % 100:02d}",
                        COMPANY_ID=company_id, CONTACT_ID=contact_id, ASSIGNED_BY_ID=1 + k % 2)
        portal.deal_contacts[deal_id] = [{"CONTACT_ID": contact_id, "SORT": 10, "ROLE_ID": 0, "IS_PRIMARY": "Y"}]
        ids.append(deal_id)
    return ids


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def portal(clock: FakeClock) -> FakePortal:
    portal = make_portal()
    portal.clock = clock  # the portal's Unix time is the client's: method-time resets line up, nobody waits
    return portal


@pytest.fixture
def server(portal: FakePortal) -> Iterator[Running]:
    running = Running(portal)
    yield running
    running.stop()


MakeClient = Callable[..., Bitrix24Crm]


@pytest.fixture
def make_client(server: Running, portal: FakePortal, clock: FakeClock) -> Iterator[MakeClient]:
    clients: list[Bitrix24Crm] = []

    def make(url: str | None = None, **limits: float) -> Bitrix24Crm:
        settings = Bitrix24Settings(WebhookUrl.parse(url or server.webhook(portal)), **limits)  # type: ignore[arg-type]
        client = Bitrix24Crm(settings, clock=clock, sleep=clock.sleep)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: MakeClient) -> Bitrix24Crm:
    return make_client()
