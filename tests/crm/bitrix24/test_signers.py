"""Several signers from Bitrix24: each deal's contact bindings (``crm.deal.contact.items.get``, inside the grouped
``batch`` reads) and the bound contacts' details and signing role (``crm.contact.list`` over their IDs, one command
per 50), against the fake portal answering as the documented server does."""

from __future__ import annotations

from typing import Any

from esign.crm.bitrix24 import Bitrix24Crm, Bitrix24Settings
from esign.crm.bitrix24.query import command
from esign.model import SignerRole
from tests.crm.bitrix24.conftest import MakeClient
from tests.crm.bitrix24.fake_portal import FakePortal, parse_php_query

STAGE = "C1:PREPARATION"


def _person(contact_id: int, name: str, last: str, cpf: str | None, email: str | None, phone: str | None,
            role: str | None, **more: Any) -> dict[str, Any]:
    return {"ID": str(contact_id), "NAME": name, "SECOND_NAME": None, "LAST_NAME": last, "POST": None,
            "UF_CRM_CPF": cpf, "UF_CRM_ESIGN_ROLE": role,
            "EMAIL": [{"ID": "1", "VALUE_TYPE": "WORK", "VALUE": email, "TYPE_ID": "EMAIL"}] if email else [],
            "PHONE": [{"ID": "2", "VALUE_TYPE": "MOBILE", "VALUE": phone, "TYPE_ID": "PHONE"}] if phone else [],
            **more}


def _deal_with_signers(portal: FakePortal) -> None:
    portal.companies[9] = {"ID": "9", "TITLE": "Construtora Horizonte Ltda.", "UF_CRM_CNPJ": "11.222.333/0001-81",
                           "ADDRESS": "Rua Augusta, 1500"}
    portal.contacts[84] = _person(84, "Márcia", "Magalhães", "529.982.247-25", "marcia@horizonte.example.com",
                                  "+5511987654321", "Signatário")
    portal.contacts[85] = _person(85, "Otávio", "Lima", "111.444.777-35", "otavio@horizonte.example.com",
                                  "+5511987650001", "signer")
    portal.contacts[86] = _person(86, "Rita", "Souza", "390.533.447-05", "rita@email.example.com", None, "TESTEMUNHA")
    portal.contacts[87] = _person(87, "Contabilidade", "Alfa", None, "contador@alfa.example.com", None, "cópia")
    portal.contacts[88] = _person(88, "Sem", "Papel", None, "x@example.com", None, None)
    portal.add_deal(410, COMPANY_ID=9, CONTACT_ID=84)
    portal.deal_contacts[410] = [  # as the portal answers: numbers as numbers, IS_PRIMARY "Y"/"N", ROLE_ID reserved
        {"CONTACT_ID": 87, "SORT": 5, "ROLE_ID": 0, "IS_PRIMARY": "N"},
        {"CONTACT_ID": 86, "SORT": 30, "ROLE_ID": 0, "IS_PRIMARY": "N"},
        {"CONTACT_ID": 85, "SORT": 20, "ROLE_ID": 0, "IS_PRIMARY": "N"},
        {"CONTACT_ID": 84, "SORT": 40, "ROLE_ID": 0, "IS_PRIMARY": "Y"},
        {"CONTACT_ID": 88, "SORT": 50, "ROLE_ID": 0, "IS_PRIMARY": "N"},
    ]
    portal.add_deal(411, COMPANY_ID=9, CONTACT_ID=84)  # one contact, no other binding: one signer
    portal.deal_contacts[411] = [{"CONTACT_ID": 84, "SORT": 10, "ROLE_ID": 0, "IS_PRIMARY": "Y"}]


def _batches(portal: FakePortal) -> list[dict[str, str]]:
    return [entry.body["cmd"] for entry in portal.log if entry.method == "batch"]


def test_bound_contacts_with_roles_are_the_deals_signers(portal: FakePortal, client: Bitrix24Crm) -> None:
    _deal_with_signers(portal)
    by_id = {f.deal_id: f for f in client.fetch_deals(STAGE, 400, 420)}
    signers = by_id[410].deal.signers
    assert by_id[410].problems == ()
    assert [(s.role, s.name, s.contact_id) for s in signers] == [
        (SignerRole.SIGNER, "Márcia Magalhães", "84"), (SignerRole.COPY, "Contabilidade Alfa", "87"),
        (SignerRole.SIGNER, "Otávio Lima", "85"), (SignerRole.WITNESS, "Rita Souza", "86")]
    assert (signers[0].email, signers[0].phone, signers[0].tax_id) == (
        "marcia@horizonte.example.com", "+5511987654321", "529.982.247-25")
    assert signers[3].tax_id == "390.533.447-05" and signers[3].phone == ""
    assert [s.name for s in by_id[411].deal.signers] == ["Márcia Magalhães"]  # its one contact has a role

    # the deal page, then round 1 (lists and each deal's bindings: one request), round 2 (the manager's department
    # and the other bound contacts: one request)
    assert [e.method for e in portal.log] == ["crm.deal.list", "batch", "batch"]
    first, second = _batches(portal)
    assert {n for n in first if n.startswith("b")} == {"b410", "b411"}
    assert first["b410"] == command("crm.deal.contact.items.get", {"id": "410"})
    assert set(second) == {"d3", "cx0"}
    listing = parse_php_query(second["cx0"].split("?", 1)[1])
    assert listing["filter"]["@ID"] == ["85", "86", "87", "88"]  # one list for every contact not read yet
    assert {"EMAIL", "PHONE", "UF_CRM_CPF", "UF_CRM_ESIGN_ROLE"} <= set(listing["select"])
    assert "crm.contact.get" not in portal.commands


def test_without_the_role_field_no_binding_is_read(portal: FakePortal, make_client: MakeClient) -> None:
    _deal_with_signers(portal)
    client = make_client()
    client.settings = client.settings.with_options({"signer_role_field": ""}, source="test ")
    fetched = client.fetch_deals(STAGE, 400, 420)
    assert all(f.deal.signers == () for f in fetched)
    assert "crm.deal.contact.items.get" not in portal.commands
    assert [e.method for e in portal.log] == ["crm.deal.list", "batch", "batch"]  # round 2: the department
    assert "UF_CRM_ESIGN_ROLE" not in str(_batches(portal)[0])


def test_the_role_field_is_configurable_and_an_unknown_role_is_a_problem(
        portal: FakePortal, make_client: MakeClient) -> None:
    _deal_with_signers(portal)
    for row in portal.contacts.values():
        row["UF_CRM_PAPEL"] = row.pop("UF_CRM_ESIGN_ROLE")
    portal.contacts[88]["UF_CRM_PAPEL"] = "fiador"
    client = make_client()
    client.settings = client.settings.with_options({"signer_role_field": "UF_CRM_PAPEL"}, source="test ")
    by_id = {f.deal_id: f for f in client.fetch_deals(STAGE, 410, 410)}
    assert by_id[410].problems == ("contact #88.role: not a signing role (signer, witness or copy): 'fiador'",)


def test_a_deal_deleted_before_its_bindings_are_read_has_none(portal: FakePortal, client: Bitrix24Crm) -> None:
    _deal_with_signers(portal)

    def delete_after_listing(method: str, _params: dict[str, Any]) -> None:
        if method == "crm.deal.list":
            portal.deals.pop(410, None)
            portal.after_call = None

    portal.after_call = delete_after_listing
    by_id = {f.deal_id: f for f in client.fetch_deals(STAGE, 400, 420)}
    assert by_id[410].deal.signers == () and by_id[410].problems == ()
    assert [s.name for s in by_id[411].deal.signers] == ["Márcia Magalhães"]


def test_the_role_field_comes_from_the_environment_and_the_connection() -> None:
    url = "https://portal.example.com/rest/7/abc123/"
    assert Bitrix24Settings.from_env({"ESIGN_BITRIX24_WEBHOOK": url}).signer_role_field == "UF_CRM_ESIGN_ROLE"
    env = {"ESIGN_BITRIX24_WEBHOOK": url, "ESIGN_BITRIX24_SIGNER_ROLE_FIELD": "UF_CRM_PAPEL"}
    assert Bitrix24Settings.from_env(env).signer_role_field == "UF_CRM_PAPEL"
    connection = Bitrix24Settings.from_connection(host=None, login=None, password=url,
                                                  extra={"signer_role_field": ""})
    assert connection.signer_role_field == ""
