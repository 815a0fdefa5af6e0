"""A new document stores its deal's signers arranged by the signer policy (routing order from the run, the template
or the pipeline; the company's second signer before or after the client side); a deal without signers stores none."""

from __future__ import annotations

from dataclasses import replace

import pytest

from esign.config import Settings
from esign.core.batch_documents import SignerPolicy, document_signers, prepare_documents
from esign.core.documents import prepare_document
from esign.model import SignerRole, SignerSide, SignerSpec, SigningOrder, Stage
from esign.workspace import Workspace
from tests.support import TEST_PASSPHRASE, make_deal

TEMPLATE = "contrato_servicos"
CLIENT = make_deal().counterparty
DEAL_SIGNERS = (
    SignerSpec(0, SignerRole.SIGNER, CLIENT.representative, "529.982.247-25", CLIENT.email, CLIENT.phone,
               contact_id="5"),
    SignerSpec(0, SignerRole.SIGNER, "Otávio Lima", "111.444.777-35", "Otavio@SaoJoao.example.com.br",
               "(31) 98888-0001", contact_id="6"),
    SignerSpec(0, SignerRole.WITNESS, "Rita Souza", "390.533.447-05", "rita@email.example.com", "", contact_id="7"),
    SignerSpec(0, SignerRole.WITNESS, "Caio Reis", "714.602.380-01", "", "+5531977770002", contact_id="8"),
    SignerSpec(0, SignerRole.COPY, "Contabilidade Alfa", "", "contador@alfa.example.com", "", contact_id="9"),
)
SECOND = SignerSpec(0, SignerRole.SIGNER, "Rafael Prado", "", "rafael@aurora.example", "+5511988887777",
                    side=SignerSide.COMPANY)


@pytest.fixture
def ws_with_second(core_settings: Settings) -> Workspace:
    ws = Workspace(core_settings, passphrase=TEST_PASSPHRASE)
    ws.__dict__["company"] = replace(ws.company, second_signer=SECOND)
    return ws


def test_a_deal_without_signers_stores_none(core_ws: Workspace) -> None:
    (prepared,) = prepare_documents(core_ws, [(make_deal("sig-none"), ())], TEMPLATE)
    record = prepared.record
    assert record is not None and record.stage is Stage.DRAFT and record.stored_signers == ()
    assert [s.slot for s in record.signers] == ["client"]


def test_a_deals_signers_are_stored_arranged_and_cleaned(core_ws: Workspace) -> None:
    (prepared,) = prepare_documents(core_ws, [(make_deal("sig-seq", signers=DEAL_SIGNERS), ())], TEMPLATE)
    record = prepared.record
    assert record is not None and record.stage is Stage.DRAFT, record and record.reason
    stored = core_ws.ledger.get(record.id).stored_signers
    assert [(s.position, s.name, s.order, s.slot, s.required) for s in stored] == [
        (1, CLIENT.representative, 1, "client", True), (2, "Otávio Lima", 2, "client_2", True),
        (3, "Rita Souza", 3, "witness_1", True), (4, "Caio Reis", 4, "witness_2", True),
        (5, "Contabilidade Alfa", 5, "", False)]
    assert (stored[1].email, stored[1].phone) == ("Otavio@saojoao.example.com.br", "+5531988880001")
    assert stored[0].email == record.counterparty_email  # signer 1 is the counterparty's contact


def test_the_run_overrides_the_template_which_overrides_the_pipeline(core_ws: Workspace) -> None:
    template = core_ws.templates.get(TEMPLATE)
    deal = make_deal(signers=DEAL_SIGNERS)
    parallel = document_signers(deal, SignerPolicy(order=SigningOrder.PARALLEL), template)
    assert {s.order for s in parallel if s.signs} == {1}
    run = SignerPolicy(order=SigningOrder.PARALLEL, run_order=SigningOrder.SEQUENTIAL)
    assert [s.order for s in document_signers(deal, run, template)] == [1, 2, 3, 4, 5]
    by_template = replace(template, signing_order="parallel")
    assert {s.order for s in document_signers(deal, SignerPolicy(), by_template) if s.signs} == {1}
    assert [s.order for s in document_signers(deal, run, by_template)] == [1, 2, 3, 4, 5]
    optional = document_signers(deal, SignerPolicy(optional_roles=(SignerRole.WITNESS,)), template)
    assert [s.required for s in optional] == [True, True, False, False, False]


def test_the_second_company_signer_joins_every_new_document(ws_with_second: Workspace) -> None:
    deals = [(make_deal("sig-2nd-a", signers=DEAL_SIGNERS), ()), (make_deal("sig-2nd-b"), ())]
    prepared = prepare_documents(ws_with_second, deals, TEMPLATE, signing=SignerPolicy(company="after"))
    with_signers, plain = (p.record for p in prepared)
    assert with_signers is not None and plain is not None
    assert [(s.slot, s.side) for s in with_signers.stored_signers] == [
        ("client", SignerSide.CLIENT), ("client_2", SignerSide.CLIENT), ("company_2", SignerSide.COMPANY),
        ("witness_1", SignerSide.CLIENT), ("witness_2", SignerSide.CLIENT), ("", SignerSide.CLIENT)]
    # a deal naming nobody: its counterparty's contact is signer 1, the second company signer signs too
    assert [(s.position, s.name, s.slot) for s in plain.stored_signers] == [
        (1, CLIENT.representative, "client"), (2, "Rafael Prado", "company_2")]
    before = document_signers(make_deal(), SignerPolicy(), ws_with_second.templates.get(TEMPLATE), SECOND)
    assert [(s.slot, s.order) for s in before] == [("client", 2), ("company_2", 1)]


def test_bad_signers_quarantine_the_document_naming_the_positions(core_ws: Workspace) -> None:
    bad = (DEAL_SIGNERS[0], replace(DEAL_SIGNERS[1], email=CLIENT.email), replace(DEAL_SIGNERS[2], tax_id="123"),
           *DEAL_SIGNERS[3:])
    record, created = prepare_document(core_ws, make_deal("sig-bad", signers=bad), TEMPLATE)
    assert created and record.stage is Stage.QUARANTINED
    assert record.reason == "signers[2].email: the same as signer 1's; signers[3].tax_id: not a valid CPF"
    assert len(record.stored_signers) == 5  # stored as they were: the person fixing the CRM sees whom it meant
