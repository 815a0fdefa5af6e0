"""The embedded CRM's deal contacts: roles (English codes or Portuguese words), SORT and the primary contact make
``Deal.signers``; a deal without roles keeps its one signer."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from esign.crm import FetchedDeal, LocalCrm
from esign.crm.local_schema import crm_deal_contacts, crm_deals
from esign.crm.normalize import parse_role
from esign.model import SignerRole
from esign.model.signers import arrange

from .conftest import TRIGGER, AddDeal, BindContact

PARTNER = {"name": "Otávio Lima", "cpf": "111.444.777-35", "email": "otavio@horizonte.example.com",
           "phone": "+5511987650001"}
WITNESS = {"name": "Rita Souza", "cpf": "390.533.447-05", "email": "rita@email.example.com"}
ACCOUNTANT = {"name": "Contabilidade Alfa", "email": "contador@alfa.example.com"}


def _one(crm: LocalCrm, deal_id: int) -> FetchedDeal:
    (fetched,) = crm.fetch_deals(TRIGGER, deal_id, deal_id)
    return fetched


def test_a_deal_without_bound_contacts_keeps_its_one_signer(crm: LocalCrm, add_deal: AddDeal) -> None:
    fetched = _one(crm, add_deal())
    assert fetched.deal.signers == () and fetched.problems == ()


def test_contacts_without_roles_make_no_signers(crm: LocalCrm, add_deal: AddDeal, bind_contact: BindContact) -> None:
    deal_id = add_deal()
    bind_contact(deal_id, None, **PARTNER)
    bind_contact(deal_id, "", sort=20, **WITNESS)
    assert _one(crm, deal_id).deal.signers == ()


def test_roles_sort_and_primary_make_the_signers(crm: LocalCrm, add_deal: AddDeal, bind_contact: BindContact,
                                                 engine: Engine) -> None:
    deal_id = add_deal()
    with engine.connect() as conn:
        main = conn.execute(select(crm_deals.c.contact_id).where(crm_deals.c.id == deal_id)).scalar_one()
    bind_contact(deal_id, "Cópia", sort=5, **ACCOUNTANT)  # a low SORT, but a copy
    bind_contact(deal_id, "TESTEMUNHA", sort=30, **WITNESS)
    bind_contact(deal_id, "signatario", sort=20, **PARTNER)
    bind_contact(deal_id, "signatário", sort=40, contact_id=main, primary=True)  # the primary signs first anyway
    bind_contact(deal_id, None, sort=50, name="Sem papel", email="x@example.com")
    fetched = _one(crm, deal_id)
    assert fetched.problems == ()
    signers = fetched.deal.signers
    assert [(s.role, s.name) for s in signers] == [
        (SignerRole.SIGNER, "Márcia Magalhães"), (SignerRole.COPY, "Contabilidade Alfa"),
        (SignerRole.SIGNER, "Otávio Lima"), (SignerRole.WITNESS, "Rita Souza")]
    assert signers[0].contact_id == str(main) and signers[0].email == "marcia.magalhaes@horizonte.example.com"
    assert signers[3].tax_id == "390.533.447-05"
    arranged = arrange(signers, "sequential")
    assert [(s.position, s.slot, s.order) for s in arranged] == [
        (1, "client", 1), (2, "client_2", 2), (3, "witness_1", 3), (4, "", 4)]


def test_a_primary_contact_without_a_role_signs_when_others_have_roles(
        crm: LocalCrm, add_deal: AddDeal, bind_contact: BindContact) -> None:
    deal_id = add_deal()
    bind_contact(deal_id, "witness", sort=30, **WITNESS)  # the deal's own contact is not bound at all
    signers = _one(crm, deal_id).deal.signers
    assert [(s.role, s.name) for s in signers] == [(SignerRole.SIGNER, "Márcia Magalhães"),
                                                   (SignerRole.WITNESS, "Rita Souza")]


def test_an_unknown_role_is_a_problem_naming_the_contact(crm: LocalCrm, add_deal: AddDeal,
                                                         bind_contact: BindContact) -> None:
    deal_id = add_deal()
    contact_id = bind_contact(deal_id, "fiador", **PARTNER)
    assert _one(crm, deal_id).problems == (
        f"contact #{contact_id}.role: not a signing role (signer, witness or copy): 'fiador'",)


def test_deleting_a_deal_deletes_its_bindings(crm: LocalCrm, add_deal: AddDeal, bind_contact: BindContact,
                                              engine: Engine) -> None:
    deal_id = add_deal()
    bind_contact(deal_id, "witness", **WITNESS)
    assert crm.delete_deal(deal_id)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(crm_deal_contacts)).scalar_one() == 0


def test_role_words() -> None:
    assert parse_role(" Signatária ") == (SignerRole.SIGNER, True)
    assert parse_role("COPIA") == (SignerRole.COPY, True)
    assert parse_role("Witness") == (SignerRole.WITNESS, True)
    assert parse_role(None) == (None, True)
    assert parse_role("") == (None, True)
    assert parse_role("guarantor") == (None, False)
