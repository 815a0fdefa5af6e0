"""One-time codes through the real path (portal -> outbox -> SMTP on loopback): "code sent" only when the relay
accepted it, within the deadline, and never delivered later by a batch run."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi.testclient import TestClient

from esign.dispatch.email import SmtpSettings
from esign.dispatch.mailserver import LocalMailServer, MaildirHandler, read_messages
from esign.dispatch.records import OutboxState
from esign.model import Stage
from esign.pipeline import collect
from esign.pipeline.messages import CODE_SEND_DEADLINE, OutboxCodeSender
from esign.pipeline.services import Services
from esign.portal.app import create_app
from esign.store import DocumentRecord
from esign.web import portal_services
from tests.pipeline.conftest import Pipe, run_send
from tests.portal.conftest import csrf_of


class Refusing(MaildirHandler):
    """A relay that answers RCPT with ``answer`` (451: try later; 550: never)."""

    def __init__(self, maildir: Path, answer: str) -> None:
        super().__init__(maildir)
        self.answer = answer

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        return self.answer


def _emailed(pipe: Pipe) -> DocumentRecord:
    for record in pipe.ws.ledger.list_by_stage(Stage.SENT):
        request = pipe.services.requests.for_document(record.id)
        if request is not None and request.channel == "email":
            return record
    raise AssertionError("no document was sent by email")


def _client(services: Services, deadline: float) -> TestClient:
    portal = replace(portal_services(services), sender=OutboxCodeSender(services, deadline=deadline))
    return TestClient(create_app(portal))


def _ask_for_code(services: Services, record: DocumentRecord, deadline: float = 1.0) -> tuple[int, str]:
    request = services.requests.for_document(record.id)
    assert request is not None
    token = services.requests.token_for(request)
    client = _client(services, deadline)
    page = client.get(f"/s/{token}")
    answer = client.post(f"/s/{token}/code", data={"csrf": csrf_of(page.text), "intent": "sign"})
    return answer.status_code, answer.text


def _actions(pipe: Pipe, record: DocumentRecord) -> list[str]:
    return [e.action for e in pipe.ws.ledger.events(record.id)]


def _codes(pipe: Pipe, record: DocumentRecord) -> list[OutboxState]:
    return [e.state for e in pipe.services.outbox.entries(document_id=record.id) if e.kind == "code"]


@pytest.fixture
def sent(pipe: Pipe) -> Iterator[DocumentRecord]:
    run_send(pipe.services)
    yield _emailed(pipe)


def test_a_code_the_relay_accepted_is_sent_and_says_so(pipe: Pipe, sent: DocumentRecord) -> None:
    before = len(pipe.messages())
    status, html = _ask_for_code(pipe.services, sent)
    assert status == 200 and "Enviamos um código" in html
    assert _actions(pipe, sent)[-1] == "code_sent" and _codes(pipe, sent) == [OutboxState.SENT]
    assert len(pipe.messages()) == before + 1


def _assert_not_sent_and_never_later(pipe: Pipe, record: DocumentRecord, status: int, html: str,
                                     services: Services) -> None:
    assert status == 503, html
    assert "Enviamos um código" not in html and "não conseguimos enviar o código agora" in html.lower()
    assert "Tentar enviar o código de novo" in html and 'name="code"' not in html
    assert "code_sent" not in _actions(pipe, record) and _actions(pipe, record)[-1] == "code_send_failed"
    assert _codes(pipe, record) and all(s is not OutboxState.PENDING for s in _codes(pipe, record))
    messages = len(pipe.messages())
    collect.deliver_leftovers(services)  # the next collect run never delivers the dead code
    assert len(pipe.messages()) == messages


def test_relay_down_the_client_reads_it_and_may_retry(pipe: Pipe, sent: DocumentRecord) -> None:
    pipe.mail.stop()
    status, html = _ask_for_code(pipe.services, sent)
    pipe.mail.start()
    _assert_not_sent_and_never_later(pipe, sent, status, html, pipe.services)
    assert _codes(pipe, sent) == [OutboxState.FAILED]
    status, html = _ask_for_code(pipe.services, sent)  # at once: nothing reached the client before
    assert status == 200 and _actions(pipe, sent)[-1] == "code_sent"


@pytest.mark.parametrize("answer", ["451 4.3.0 mailbox busy, try later", "550 5.1.1 mailbox unavailable"])
def test_relay_refuses_the_code(pipe: Pipe, sent: DocumentRecord, tmp_path: Path, answer: str) -> None:
    with LocalMailServer(tmp_path / "refusing", handler=Refusing(tmp_path / "refusing", answer)) as refusing:
        services = pipe.with_config()
        services.smtp = SmtpSettings(host="127.0.0.1", port=refusing.port)
        status, html = _ask_for_code(services, sent)
        _assert_not_sent_and_never_later(pipe, sent, status, html, services)
    assert read_messages(tmp_path / "refusing") == []
    [row] = [e for e in services.outbox.entries(document_id=sent.id) if e.kind == "code"]
    assert row.state is OutboxState.FAILED and answer.split()[0] in (row.last_error or "")


def test_relay_that_hangs_is_given_up_within_the_deadline(pipe: Pipe, sent: DocumentRecord) -> None:
    """A relay that takes the connection and never greets: the portal answers within the default deadline."""
    assert CODE_SEND_DEADLINE <= 5
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        services = pipe.with_config()
        services.smtp = SmtpSettings(host="127.0.0.1", port=silent.getsockname()[1], timeout=30)
        status, html = _ask_for_code(services, sent, deadline=CODE_SEND_DEADLINE)
    _assert_not_sent_and_never_later(pipe, sent, status, html, services)
    [row] = [e for e in services.outbox.entries(document_id=sent.id) if e.kind == "code"]
    assert "cannot open a session" in (row.last_error or "")


def test_a_code_a_crash_left_pending_is_abandoned_by_recovery(pipe: Pipe, sent: DocumentRecord) -> None:
    from datetime import UTC, datetime, timedelta

    from esign.dispatch.outbox import Outbox
    from esign.requests.messages import code_message

    request = pipe.services.requests.for_document(sent.id)
    assert request is not None
    entry = pipe.services.outbox.enqueue(code_message(pipe.services, request, sent, "123456", 9))
    services = pipe.with_config()
    services.outbox = Outbox(pipe.ws.engine, clock=lambda: datetime.now(UTC) + timedelta(minutes=10))
    assert collect.recover(services)["codes_abandoned"] == 1
    assert services.outbox.get(entry.id).state is OutboxState.FAILED  # type: ignore[union-attr]


def test_the_invitation_greets_the_contact_person_not_the_company(pipe: Pipe, sent: DocumentRecord) -> None:
    assert sent.counterparty_contact and sent.counterparty_contact != sent.counterparty_name
    invite = next(m for m in pipe.messages() if m.message["X-Esign-Document"] == sent.id)
    greeting = invite.text.splitlines()[0]
    assert greeting == f"Olá, {sent.counterparty_contact.rstrip('. ')},"
    assert sent.counterparty_name not in greeting and ".." not in invite.text
    assert "(UTC-03:00)" in invite.text and "contratos@aurora.example" in invite.text  # zone and company contact


def test_a_code_asked_for_declining_says_so(pipe: Pipe, sent: DocumentRecord) -> None:
    request = pipe.services.requests.for_document(sent.id)
    assert request is not None
    token = pipe.services.requests.token_for(request)
    client = _client(pipe.services, 5.0)
    page = client.get(f"/s/{token}")
    answer = client.post(f"/s/{token}/code", data={"csrf": csrf_of(page.text), "intent": "decline"})
    assert answer.status_code == 200
    code = [m for m in pipe.messages() if m.message["X-Esign-Document"] == sent.id][-1]
    assert "para recusar" in str(code.message["Subject"]) and "para recusar" in code.text
    assert "para assinar" not in code.text


def test_messages_follow_the_language_the_deal_gave(pipe: Pipe, sent: DocumentRecord) -> None:
    from email import message_from_bytes
    from email.policy import default

    from esign.core.batch_documents import client_language
    from esign.model import Deal, Party
    from esign.requests.messages import invite_message
    from esign.store.schema import documents

    deal = Deal(id="1", title="T", amount=0, currency="BRL", counterparty=Party("X", "1"), extra={"language": "en"})
    assert client_language(deal) == "en" and client_language(replace(deal, extra={})) == ""
    with pipe.ws.engine.begin() as conn:
        conn.execute(documents.update().where(documents.c.id == sent.id).values(language="en"))
    record = pipe.ws.ledger.get(sent.id)
    request = pipe.services.requests.for_document(sent.id)
    assert request is not None and record.language == "en"
    message = message_from_bytes(bytes(invite_message(pipe.services, request, record).payload), policy=default)
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()  # type: ignore[attr-defined]
    assert text.startswith(f"Hello, {record.counterparty_contact.rstrip('. ')},") and "(UTC-03:00)" in text


def test_the_sms_telling_a_client_of_a_cancel_fits_one_segment(pipe: Pipe, sent: DocumentRecord) -> None:
    from esign.dispatch.texts import gsm7, sms_segments
    from esign.register.notices import cancel_notice

    request = pipe.services.requests.for_document(sent.id)
    assert request is not None
    long_title = replace(sent, title="Contrato de prestação de serviços de manutenção preventiva nº 2026/000123")
    sms = replace(request, channel="sms", destination="+5511987654321")
    text = str(cancel_notice(pipe.services, long_title, sms).payload)
    assert sms_segments(text) == 1 and gsm7(text) == text and "foi cancelado" in text
