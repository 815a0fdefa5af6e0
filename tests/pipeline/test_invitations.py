"""Several signers per document: each invited once when their turn comes (sequential) or together (parallel); the
last signature moves the document; a required signer's decline stops it and tells the others once; an optional
signer's decline or expiry does not; a new run (a fresh Services) finishes what a crash left."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from esign.config import Settings
from esign.dispatch.mailserver import LocalMailServer
from esign.model import SignerRole, SignerSpec, SigningOrder, Stage
from esign.model.signers import arrange
from esign.pipeline import invitations, send
from esign.pipeline.services import Services
from esign.requests import RequestStatus, SigningRequest
from esign.store import EventInfo
from tests.pipeline.conftest import Pipe, make_pipe, run_send
from tests.support import CodeRecorder

IP, UA = "198.51.100.4", "pytest"
PEOPLE = [
    SignerSpec(position=0, role=SignerRole.SIGNER, name="Ana Sócia", email="ana@cliente.example"),
    SignerSpec(position=0, role=SignerRole.SIGNER, name="Bruno Sócio", email="bruno@cliente.example"),
    SignerSpec(position=0, role=SignerRole.WITNESS, name="Carla Testemunha", tax_id="52998224725",
               email="carla@testemunha.example"),
    SignerSpec(position=0, role=SignerRole.WITNESS, name="Davi Testemunha", tax_id="11144477735",
               email="davi@testemunha.example"),
    SignerSpec(position=0, role=SignerRole.COPY, name="Contadora", email="contadora@contabil.example"),
]


def _document(services: Services, mode: str = "sequential", optional: tuple[str, ...] = (),
              deal_id: int | None = None) -> str:
    """A company-signed document of batch ``b-<random>`` with the four signers and a copy."""
    ledger = services.ws.ledger
    record, _ = ledger.create_document(
        deal_id=str(deal_id or 900_000 + secrets.randbelow(99_999)), template_id="contrato_servicos",
        title="Contrato de Serviços",
        counterparty_name="Cliente Ltda", counterparty_email="ana@cliente.example",
        batch_id="b-" + secrets.token_hex(3),
        signers=arrange(PEOPLE, SigningOrder(mode), optional_roles=optional))
    ledger.move(record.id, Stage.COMPANY_SIGNED, "company_signed", EventInfo(actor="Diretora"))
    return record.id


def _dispatch(services: Services, document_id: str) -> dict[str, int]:
    batch_id = services.ws.ledger.get(document_id).batch_id
    assert batch_id is not None
    return send.dispatch_batch(services, {"batch_id": batch_id, "first_id": 1, "last_id": 1, "count": 1})


def _request(services: Services, document_id: str, position: int) -> SigningRequest:
    return services.requests.current_for_documents([document_id])[document_id][position]


def _answer(services: Services, document_id: str, position: int, decline: str = "") -> None:
    request = _request(services, document_id, position)
    codes = CodeRecorder()
    services.requests.issue_code(request, codes, IP, UA)
    services.requests.check_code(request, codes.last_code, IP, UA)
    if decline:
        services.requests.decline(request, decline, IP, UA)
    else:
        services.requests.sign(request, services.ws.ledger.get(document_id).signer(position).name, None, True, IP, UA)


def _mail_to(pipe: Pipe) -> Counter[str]:
    return Counter(str(m.message["To"]) for m in pipe.messages())


def _fresh(pipe: Pipe) -> Services:
    """A new run's services (nothing carried over in memory)."""
    s = pipe.services
    return Services(ws=s.ws, config=s.config, smtp=s.smtp)


def test_sequential_signers_are_invited_one_after_the_other_once_each(pipe: Pipe) -> None:
    services = pipe.services
    doc = _document(services)
    _dispatch(services, doc)
    assert services.ws.ledger.get(doc).stage is Stage.SENT
    assert _mail_to(pipe) == Counter({"ana@cliente.example": 1})

    for position, email in ((1, "bruno@cliente.example"), (2, "carla@testemunha.example"),
                            (3, "davi@testemunha.example")):
        _answer(services, doc, position)
        assert services.ws.ledger.get(doc).stage in (Stage.SENT, Stage.VIEWED)
        counts = invitations.advance(_fresh(pipe))  # a new run finds the next signer's turn
        assert counts.get("sent") == 1, counts
        assert invitations.advance(_fresh(pipe)) == {}  # and never invites twice
        assert _mail_to(pipe)[email] == 1
    _answer(services, doc, 4)
    record = services.ws.ledger.get(doc)
    assert record.stage is Stage.CLIENT_SIGNED
    assert _mail_to(pipe) == Counter({"ana@cliente.example": 1, "bruno@cliente.example": 1,
                                      "carla@testemunha.example": 1, "davi@testemunha.example": 1})
    evidence = services.requests.evidence(doc)
    assert [(e.position, e.role, e.slot) for e in evidence] == [
        (1, "signer", "client"), (2, "signer", "client_2"), (3, "witness", "witness_1"), (4, "witness", "witness_2")]
    assert evidence[2].signer_tax_id == "52998224725"
    signed_events = [e for e in services.ws.ledger.events(doc) if e.action in ("signer_signed", "client_signed")]
    assert [e.action for e in signed_events] == ["signer_signed"] * 3 + ["client_signed"]
    assert "testemunha 2: Davi Testemunha" in signed_events[-1].detail


def test_a_signer_waits_for_the_one_before(pipe: Pipe) -> None:
    services = pipe.services
    doc = _document(services)
    _dispatch(services, doc)
    assert invitations.advance(services) == {}  # Ana has not signed: nobody else is invited
    assert set(services.requests.current_for_documents([doc])[doc]) == {1}


def test_parallel_signers_are_invited_together(pipe: Pipe) -> None:
    services = pipe.services
    doc = _document(services, "parallel")
    _dispatch(services, doc)
    assert _mail_to(pipe) == Counter({"ana@cliente.example": 1, "bruno@cliente.example": 1,
                                      "carla@testemunha.example": 1, "davi@testemunha.example": 1})
    for position in (3, 1, 4, 2):
        _answer(services, doc, position)
    assert services.ws.ledger.get(doc).stage is Stage.CLIENT_SIGNED


def test_a_required_signers_decline_stops_the_document_and_tells_the_others_once(pipe: Pipe) -> None:
    services = pipe.services
    doc = _document(services, "parallel")
    _dispatch(services, doc)
    _answer(services, doc, 1)
    _answer(services, doc, 3, decline="Não conheço as partes")
    assert services.ws.ledger.get(doc).stage is Stage.DECLINED
    current = services.requests.current_for_documents([doc])[doc]
    assert current[1].status is RequestStatus.SIGNED
    assert current[3].status is RequestStatus.DECLINED
    assert current[2].status is current[4].status is RequestStatus.CANCELED  # their links closed with it
    assert services.requests.decline_of(doc).decline_reason == "Não conheço as partes"  # type: ignore[union-attr]
    before = _mail_to(pipe)
    counts = invitations.advance(_fresh(pipe))
    assert counts["decline_notices"] == 3
    assert invitations.advance(_fresh(pipe)) == {}
    notices = _mail_to(pipe) - before
    assert notices == Counter({"ana@cliente.example": 1, "bruno@cliente.example": 1, "davi@testemunha.example": 1})
    subjects = {str(m.message["Subject"]) for m in pipe.messages() if "encerrada" in str(m.message["Subject"])}
    assert subjects == {"Assinatura encerrada: Contrato de Serviços"}


def test_an_optional_witness_declining_does_not_stop_the_document(pipe: Pipe) -> None:
    services = pipe.services
    doc = _document(services, "sequential", optional=("witness",))
    _dispatch(services, doc)
    _answer(services, doc, 1)
    invitations.advance(services)
    _answer(services, doc, 2)
    invitations.advance(services)
    _answer(services, doc, 3, decline="Não pude comparecer")
    assert services.ws.ledger.get(doc).stage in (Stage.SENT, Stage.VIEWED)
    invitations.advance(services)  # Davi's turn: the witness before him answered (declined, optional)
    _answer(services, doc, 4)
    assert services.ws.ledger.get(doc).stage is Stage.CLIENT_SIGNED
    assert [e.position for e in services.requests.evidence(doc)] == [1, 2, 4]


def test_a_required_signers_expired_link_expires_the_document(pipe: Pipe) -> None:
    services = pipe.services
    doc = _document(services)
    _dispatch(services, doc)
    _answer(services, doc, 1)
    invitations.advance(services)
    later = datetime.now(UTC) + timedelta(days=services.config.link_valid_days + 1)
    assert doc in services.requests.expire_due(later)
    assert services.ws.ledger.get(doc).stage is Stage.EXPIRED
    assert _request(services, doc, 1).status is RequestStatus.SIGNED
    assert _request(services, doc, 2).status is RequestStatus.EXPIRED


def test_an_optional_signers_expired_link_lets_the_others_go_on(pipe: Pipe) -> None:
    services = pipe.services
    doc = _document(services, "parallel", optional=("witness",))
    _dispatch(services, doc)
    for position in (1, 2, 3):
        _answer(services, doc, position)
    later = datetime.now(UTC) + timedelta(days=services.config.link_valid_days + 1)
    services.requests.expire_due(later)
    assert services.ws.ledger.get(doc).stage is Stage.CLIENT_SIGNED  # Davi (optional) let it lapse: complete


def test_undeliverable_next_invitation_fails_the_document(pipe: Pipe) -> None:
    services = pipe.services
    doc = _document(services)
    _dispatch(services, doc)
    _answer(services, doc, 1)
    invitations.advance(services)
    entry = services.outbox.get_by_key(invitations.invite_key(_request(services, doc, 2)))
    assert entry is not None
    from esign.dispatch.outbox_schema import outbox
    with services.ws.engine.begin() as conn:  # the relay refused it for good (a 5xx), as the outbox records it
        conn.execute(outbox.update().where(outbox.c.id == entry.id).values(state="failed", last_error="550 no"))
    assert invitations.advance(services)["undeliverable"] == 1
    assert services.ws.ledger.get(doc).stage is Stage.FAILED


def test_creating_one_signers_request_twice_gives_the_same_request(pipe: Pipe) -> None:
    services = pipe.services
    doc = _document(services, "parallel")
    expires = datetime.now(UTC) + timedelta(days=3)
    first = services.requests.create(doc, "email", "bruno@cliente.example", expires, signer=2)
    again = services.requests.create_for_signers([(doc, 2, "email", "bruno@cliente.example"),
                                                  (doc, 3, "email", "carla@testemunha.example")], expires)
    assert again[(doc, 2)] == first
    assert again[(doc, 3)].attempt == first.attempt + 1  # attempts number the document's requests
    with pytest.raises(ValueError, match="twice"):
        services.requests.create_for_signers([(doc, 2, "email", "a@b.example")] * 2, expires)


def test_the_crm_hears_who_declined_and_why(pipe: Pipe) -> None:
    from esign.crm.local import LocalCrm
    from esign.pipeline.collect import write_back_endings

    services = pipe.services
    doc = _document(services, "parallel", deal_id=pipe.seeded.first_deal_id)  # a deal the embedded CRM has
    _dispatch(services, doc)
    _answer(services, doc, 4, decline="Não estive presente")
    write_back_endings(services)
    deal = int(services.ws.ledger.get(doc).deal_id)
    texts = [c.text for c in LocalCrm(services.ws.engine).comments(deal)]
    assert any("Davi Testemunha recusou o contrato" in t and "Não estive presente" in t for t in texts), texts


@pytest.fixture
def several(tmp_path: Path, core_settings: Settings) -> Iterator[Pipe]:
    """A pipeline whose healthy seeded deals all have two client signers, two witnesses and a copy."""
    with LocalMailServer(tmp_path / "mail") as mail:
        yield make_pipe(tmp_path, core_settings, 6, mail, signers_every=1)


@pytest.mark.parametrize("order", ["sequential", "parallel"])
def test_a_run_with_crm_signers_invites_by_the_runs_signing_order(several: Pipe, order: str) -> None:
    services = several.with_config(signing_order=order)
    run_send(services)
    sent = services.ws.ledger.list_by_stage(Stage.SENT)
    assert sent and all(len([s for s in r.signers if s.signs]) == 4 for r in sent)
    current = services.requests.current_for_documents([r.id for r in sent])
    assert {len(current[r.id]) for r in sent} == ({1} if order == "sequential" else {4})
    invites = [m for m in several.messages() if "assinatura" in str(m.message["Subject"]).lower()]
    assert len(invites) == sum(len(current[r.id]) for r in sent)  # one each


def test_a_next_invitation_nobody_sent_shows_as_stuck_until_a_run_sends_it(pipe: Pipe) -> None:
    from esign.pipeline.stuck import stuck_documents
    from esign.requests.schema import signing_requests

    services = pipe.services
    doc = _document(services)
    _dispatch(services, doc)
    _answer(services, doc, 1)  # and the portal's follow-up never ran (a crash): nobody holds an open link
    with services.ws.engine.begin() as conn:
        conn.execute(signing_requests.update().where(signing_requests.c.document_id == doc)
                     .values(closed_at=datetime.now(UTC) - timedelta(hours=2)))
    report = stuck_documents(services.ws.engine, timedelta(minutes=60))
    [stuck] = [d for d in report.listed if d.document_id == doc]
    assert stuck.owed == "next_invitation" and stuck.age >= timedelta(hours=2)
    invitations.advance(_fresh(pipe))  # the next collect run
    assert doc not in {d.document_id for d in stuck_documents(services.ws.engine, timedelta(minutes=60)).listed}
