"""People and the company structure through the CRM protocol: Bitrix24 ``user.get`` / ``department.get``."""

from __future__ import annotations

from esign.access import CrmOrgChart
from esign.crm.base import CrmClient, Department, Person
from esign.crm.bitrix24 import Bitrix24Crm
from tests.crm.bitrix24.conftest import FakeClock
from tests.crm.bitrix24.fake_portal import FakePortal, PortalError


def _staff(portal: FakePortal) -> None:
    """Departments 1 (root) > 3 (Vendas SP) > 4..63 (60 teams); 70 people in 3, one in team 10."""
    portal.departments[1] = {"ID": "1", "NAME": "Empresa", "SORT": 500, "PARENT": None, "UF_HEAD": "1"}
    for d in range(4, 64):
        portal.departments[d] = {"ID": str(d), "NAME": f"Equipe {d}", "SORT": 500, "PARENT": "3", "UF_HEAD": None}
    for u in range(100, 170):
        portal.users[u] = {"ID": str(u), "ACTIVE": True, "NAME": "Pessoa", "LAST_NAME": str(u),
                           "EMAIL": f"p{u}@vendas.example.com", "UF_DEPARTMENT": [3]}
    portal.users[200] = {"ID": "200", "ACTIVE": True, "NAME": "Rita", "LAST_NAME": "Lee", "EMAIL": None,
                         "UF_DEPARTMENT": [10, 3]}


def test_bitrix24_is_a_crm_client_with_people(client: Bitrix24Crm) -> None:
    assert isinstance(client, CrmClient)


def test_people_by_id_are_read_50_per_command_in_one_request(portal: FakePortal, client: Bitrix24Crm) -> None:
    _staff(portal)
    wanted = [str(u) for u in range(100, 160)] + ["1", "200", "999", "x"]
    people = client.people(wanted)
    assert len(people) == 62 and "999" not in people
    assert people["1"] == Person(id="1", name="Júlio Monteiro", email="julio.monteiro@vendas.example.com",
                                 department_ids=(3,))
    assert people["200"].email is None and people["200"].department_ids == (10, 3)
    assert portal.methods() == ["batch"] and portal.commands == ["user.get", "user.get"]
    assert client.people(["1", "999", "160"]) == {"1": people["1"], "160": client.people(["160"])["160"]}
    assert portal.commands == ["user.get"] * 3  # only 160 was new; 999 is known to be unknown


def test_people_of_departments_and_the_structure_are_read_page_by_page(
        portal: FakePortal, client: Bitrix24Crm, clock: FakeClock) -> None:
    _staff(portal)
    assert client.people_in({3}) == {"1", "200"} | {str(u) for u in range(100, 170)}  # 72 people: 2 pages
    assert client.people_in({10}) == {"200"} and client.people_in(set()) == set()
    asked = len(portal.log)
    assert client.people_in({10}) == {"200"} and len(portal.log) == asked  # reused for a few minutes
    structure = client.departments()
    assert len(structure) == 62 and structure[0] == Department(id=1, name="Empresa", parent_id=None, head_id="1")
    assert Department(id=3, name="Vendas SP", parent_id=1, head_id="1") in structure
    requests = len(portal.log)
    assert client.departments() == structure and len(portal.log) == requests  # reused for a few minutes
    clock.now += 301
    client.departments()
    assert len(portal.log) == requests + 2  # read again: the counted page, then the second page


def test_the_org_chart_of_bitrix24(portal: FakePortal, client: Bitrix24Crm) -> None:
    _staff(portal)
    org = CrmOrgChart(client)
    assert org.department_of("200") == 10 and org.department_of("1") == 3 and org.department_of("999") is None
    assert org.subtree(3) == {3} | set(range(4, 64)) and org.subtree(10) == {10}
    assert org.managers_in({10}) == {"200"}
    portal.denied_methods["department.get"] = PortalError(403, "insufficient_scope", "")
    assert CrmOrgChart(lambda: client).subtree(3) == {3} | set(range(4, 64))  # the cached structure
    fresh = CrmOrgChart(Bitrix24Crm(client.settings, clock=lambda: 0.0, sleep=lambda _s: None))
    assert fresh.subtree(3) == {3}  # without the department scope: no sub-departments, never more rights
