"""Each signer's state, derived once (esign.requests.signer_states) for the portal, register, reports and /verify."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from esign.i18n import translator
from esign.model.signers import SignerRole, SignerSide, SignerSpec, SigningOrder, arrange
from esign.requests import SigningRequests
from esign.requests.records import RequestStatus, SigningRequest
from esign.requests.schema import signing_requests
from esign.requests.signer_states import (
    SignerState,
    copies,
    declined_by_other,
    role_label,
    signer_states,
    state_from,
    state_label,
    state_of,
    states_for,
    states_for_many,
)
from esign.store import Ledger

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
SIGNERS = arrange([
    SignerSpec(0, SignerRole.SIGNER, "Ana Souza", email="ana@example.com"),
    SignerSpec(0, SignerRole.SIGNER, "Bruno Lima", email="bruno@example.com"),
    SignerSpec(0, SignerRole.WITNESS, "Carla Dias", tax_id="52998224725", email="carla@example.com"),
    SignerSpec(0, SignerRole.COPY, "Diretoria Jurídica", email="juridico@example.com"),
], SigningOrder.SEQUENTIAL)


def _request(doc: str, signer: int, attempt: int, status: RequestStatus = RequestStatus.OPEN,
             viewed: bool = False, **more: object) -> SigningRequest:
    return SigningRequest(id=f"REQ-{doc}-{attempt}", document_id=doc, attempt=attempt, channel="email",
                          destination="x@example.com", masked_destination="x***@example.com", status=status,
                          created_at=NOW, expires_at=NOW + timedelta(days=14),
                          viewed_at=NOW if viewed else None, signer=signer, **more)  # type: ignore[arg-type]


def test_the_state_is_the_latest_request_of_each_signer(ledger: Ledger) -> None:
    doc, _ = ledger.create_document(deal_id="1", template_id="contrato", title="Contrato",
                                    counterparty_name="Cliente Ltda", signers=SIGNERS)
    requests = [
        _request(doc.id, 1, 1, RequestStatus.EXPIRED),
        _request(doc.id, 1, 3, RequestStatus.SIGNED, viewed=True, signed_at=NOW, signer_name="Ana M. Souza"),
        _request(doc.id, 2, 4, viewed=True),
        _request("DOC-OTHER", 3, 1, RequestStatus.DECLINED),  # another document's: ignored
    ]
    statuses = signer_states(doc, requests)
    assert [(s.position, s.role, s.state) for s in statuses] == [
        (1, SignerRole.SIGNER, SignerState.SIGNED), (2, SignerRole.SIGNER, SignerState.VIEWED),
        (3, SignerRole.WITNESS, SignerState.WAITING)]
    assert statuses[0].name == "Ana M. Souza" and statuses[0].signed_at == NOW  # as they signed
    assert statuses[1].name == "Bruno Lima" and statuses[1].signed_at is None and statuses[1].is_open
    assert statuses[2].request is None and statuses[2].masked_destination == ""
    assert [c.name for c in copies(doc)] == ["Diretoria Jurídica"]


def test_open_requests_are_invited_until_viewed_and_closed_ones_keep_their_status() -> None:
    assert state_of(None) is SignerState.WAITING
    assert state_of(_request("D", 1, 1)) is SignerState.INVITED
    assert state_of(_request("D", 1, 1, viewed=True)) is SignerState.VIEWED
    for status in (RequestStatus.SIGNED, RequestStatus.DECLINED, RequestStatus.EXPIRED, RequestStatus.CANCELED):
        assert state_of(_request("D", 1, 1, status, viewed=True)).value == status.value


def test_a_document_without_stored_signers_has_its_counterparty_as_signer_1(ledger: Ledger) -> None:
    doc, _ = ledger.create_document(deal_id="2", template_id="contrato", title="Contrato",
                                    counterparty_name="Cliente Ltda", counterparty_contact="Ana Souza")
    statuses = signer_states(doc, [_request(doc.id, 1, 1, viewed=True)])
    assert [(s.position, s.name, s.state) for s in statuses] == [(1, "Ana Souza", SignerState.VIEWED)]


def test_a_required_signers_decline_stops_the_others_an_optional_one_does_not(ledger: Ledger) -> None:
    optional = arrange([replace(s, position=0) for s in SIGNERS], SigningOrder.PARALLEL,
                       optional_roles=[SignerRole.WITNESS])
    doc, _ = ledger.create_document(deal_id="3", template_id="contrato", title="Contrato",
                                    counterparty_name="Cliente Ltda", signers=optional)
    witness_declined = signer_states(doc, [_request(doc.id, 3, 1, RequestStatus.DECLINED)])
    assert declined_by_other(witness_declined, 1) is None
    client_declined = signer_states(doc, [_request(doc.id, 2, 2, RequestStatus.DECLINED)])
    found = declined_by_other(client_declined, 1)
    assert found is not None and found.position == 2
    assert declined_by_other(client_declined, 2) is None  # their own decline is not "another's"


def test_each_signers_latest_request_is_read_through_the_service(engine: Engine, ledger: Ledger) -> None:
    doc, _ = ledger.create_document(deal_id="4", template_id="contrato", title="Contrato",
                                    counterparty_name="Cliente Ltda", signers=SIGNERS)
    with engine.begin() as conn:
        for attempt, signer, status in ((1, 1, "signed"), (2, 2, "expired"), (3, 2, "open")):
            conn.execute(signing_requests.insert().values(
                id=f"REQ-{attempt}", document_id=doc.id, attempt=attempt, signer=signer,
                token_sha256=f"{attempt:064d}", channel="email", destination="a@example.com",
                masked_destination="a***@example.com", status=status, created_at=NOW,
                expires_at=NOW + timedelta(days=1), signed_at=NOW if status == "signed" else None))
    service = SigningRequests(engine, ledger, secrets.token_bytes(32))
    assert [s.state for s in states_for(service, doc)] == [SignerState.SIGNED, SignerState.INVITED,
                                                            SignerState.WAITING]
    other, _ = ledger.create_document(deal_id="5", template_id="contrato", title="Contrato",
                                      counterparty_name="Cliente Ltda")
    many = states_for_many(service, [doc, other])
    assert [s.state for s in many[other.id]] == [SignerState.WAITING]
    assert [s.request.attempt if s.request else None for s in many[doc.id]] == [1, 3, None]


def test_rows_without_a_request_object_follow_the_same_rule() -> None:
    assert state_from(None, False) is SignerState.WAITING
    assert state_from("open", False) is SignerState.INVITED
    assert state_from("open", True) is SignerState.VIEWED
    assert state_from("expired", True) is SignerState.EXPIRED


def test_states_and_roles_read_in_portuguese() -> None:
    t = translator("pt_BR")
    assert state_label("signed", t) == "Assinou"
    assert state_label(SignerState.WAITING, t) == "Aguardando a vez"
    assert role_label("witness", t) == "Testemunha"
    assert state_label("odd", t) == "odd"
    assert SignerSide.CLIENT.value == "client"
