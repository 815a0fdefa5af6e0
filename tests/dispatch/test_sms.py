"""SMS: texts that fit, the embedded file gateway, and the HTTP gateway against a real local HTTP server."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from esign.dispatch.outbox import Outbox
from esign.dispatch.records import DeliveryError, DeliveryReport, OutboxState, OutgoingMessage, message_id_for
from esign.dispatch.sms import (
    SMS_MAX_CHARS,
    FileSmsGateway,
    GatewaySender,
    HttpSmsGateway,
    read_sms,
    sms_code_text,
    sms_final_copy_text,
    sms_invite_text,
    sms_reminder_text,
)
from esign.dispatch.texts import gsm7, sms_segments
from esign.errors import ConfigError, DispatchError
from esign.i18n import translator

EXPIRES = datetime(2031, 3, 15, 21, 0, tzinfo=UTC)
LINK = "https://sign.example.com/s/R1?t=abcdef"


def _sms(request_id: str, to: str = "+5511987654321", text: str = "ACME: assine") -> OutgoingMessage:
    key = f"invite:{request_id}"
    return OutgoingMessage(key, f"DOC-{request_id}", request_id, "invite", "sms", to, message_id_for(key), text)


def test_invite_text_cuts_only_the_title() -> None:
    text = sms_invite_text(company_name="Açúcar & Cia", document_title="Contrato " * 80, link=LINK, expires_at=EXPIRES)
    assert len(text) <= SMS_MAX_CHARS and sms_segments(text) == 1
    assert text.endswith(f": {LINK}") and "até 15/03/2031" in text and "..." in text and text.startswith("Acucar")
    short = sms_invite_text(company_name="ACME", document_title="Aditivo", link=LINK, expires_at=EXPIRES)
    assert short == f'ACME: assine "Aditivo" até 15/03/2031: {LINK}'
    reminder = sms_reminder_text(company_name="ACME", document_title="Aditivo", link=LINK, expires_at=EXPIRES)
    assert reminder.startswith("ACME: lembrete") and LINK in reminder
    assert "482913" in sms_code_text(company_name="ACME", code="482913", valid_minutes=5)


#: Realistic pt-BR values: a long company name with accents, a long title, a production-length link.
REAL_COMPANY = "Metalúrgica Araucária Indústria e Comércio Ltda."
REAL_TITLE = "Contrato de prestação de serviços de manutenção preventiva nº 2026/000123"
REAL_LINK = "https://assinar.araucaria.com.br/s/" + "Ab3_x" * 8 + "Zq9"  # a token is 43 characters


def test_pt_br_texts_fit_one_gsm7_segment() -> None:
    texts = [
        sms_invite_text(company_name=REAL_COMPANY, document_title=REAL_TITLE, link=REAL_LINK, expires_at=EXPIRES),
        sms_reminder_text(company_name=REAL_COMPANY, document_title=REAL_TITLE, link=REAL_LINK, expires_at=EXPIRES),
        sms_code_text(company_name=REAL_COMPANY, code="482913", valid_minutes=5),
        sms_code_text(company_name=REAL_COMPANY, code="482913", valid_minutes=5, intent="decline"),
        sms_final_copy_text(company_name=REAL_COMPANY, document_title=REAL_TITLE, link=REAL_LINK),
    ]
    for text in texts:
        assert sms_segments(text) == 1, (len(text), text)
        assert gsm7(text) == text, "GSM-7 only: one accent would make it UCS-2 (70 characters a segment)"
        assert REAL_LINK in text or "482913" in text
    assert texts[0].startswith("Metalurgica Araucaria") and "até 15/03/2031" in texts[0]


def test_the_code_text_says_what_it_confirms() -> None:
    assert "para assinar" in sms_code_text(company_name="ACME", code="1", valid_minutes=5)
    declining = sms_code_text(company_name="ACME", code="1", valid_minutes=5, intent="decline")
    assert "para recusar" in declining and "assinar" not in declining


def test_segments_are_counted_by_alphabet() -> None:
    assert sms_segments("a" * 160) == 1 and sms_segments("a" * 161) == 2 and sms_segments("a" * 307) == 3
    assert sms_segments("€" * 80) == 1 and sms_segments("€" * 81) == 2  # extension characters take two septets
    assert sms_segments("ã" * 70) == 1 and sms_segments("ã" * 71) == 2  # one accent outside GSM-7: UCS-2
    assert gsm7("Ação – “ok” ção…") == 'Acao - "ok" cao...'
    english = sms_invite_text(company_name="ACME", document_title="Addendum", link=LINK, expires_at=EXPIRES,
                              t=translator("en"))
    assert english == f'ACME: please sign "Addendum" by 03/15/2031: {LINK}'


def test_a_link_too_long_for_an_sms_is_refused() -> None:
    with pytest.raises(DispatchError, match="does not fit"):
        sms_invite_text(company_name="ACME", document_title="x", link="https://x/" + "a" * 400, expires_at=EXPIRES)


def test_expiry_needs_a_time_zone() -> None:
    with pytest.raises(ConfigError, match="time zone"):
        sms_invite_text(company_name="A", document_title="B", link=LINK, expires_at=datetime(2031, 1, 1))
    with pytest.raises(ConfigError, match="unknown"):
        sms_invite_text(company_name="A", document_title="B", link=LINK, expires_at=EXPIRES, tz_name="Mars/Base")


def test_file_gateway_appends_one_json_line_per_sms(outbox: Outbox, tmp_path: Path) -> None:
    path = tmp_path / "sms" / "outbox.jsonl"
    gateway = FileSmsGateway(path)
    first = outbox.enqueue(_sms("R1", text="Código 123 — não compartilhe"))
    outbox.enqueue(_sms("R2", to="+5521912345678"))
    assert outbox.deliver_pending({"sms": GatewaySender(gateway)}) == DeliveryReport(sent=2)
    lines = read_sms(path)
    assert [line["to"] for line in lines] == ["+5511987654321", "+5521912345678"]
    assert lines[0]["text"] == "Código 123 — não compartilhe" and lines[0]["reference"] == first.message_id
    assert outbox.get(first.id).provider_ref == lines[0]["id"]  # type: ignore[union-attr]
    assert read_sms(tmp_path / "none.jsonl") == []


def test_file_gateway_that_cannot_write_is_retryable(outbox: Outbox, tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where a folder should be")
    entry = outbox.enqueue(_sms("R1"))
    blocked = GatewaySender(FileSmsGateway(tmp_path / "blocker" / "outbox.jsonl"))
    assert outbox.deliver_pending({"sms": blocked}) == DeliveryReport(retried=1)
    assert "cannot append" in (outbox.get(entry.id).last_error or "")  # type: ignore[union-attr]


def test_only_channels_with_a_sender_are_claimed(outbox: Outbox, tmp_path: Path, make_invite: Any) -> None:
    email = outbox.enqueue(make_invite("E1"))
    outbox.enqueue(_sms("S1"))
    sms = GatewaySender(FileSmsGateway(tmp_path / "sms.jsonl"))
    assert outbox.deliver_pending({"sms": sms}) == DeliveryReport(sent=1)
    assert outbox.get(email.id).state is OutboxState.PENDING  # type: ignore[union-attr]
    assert outbox.deliver_pending({}) == DeliveryReport()


def test_http_gateway_retries_a_500_then_sends_with_the_bearer_token(outbox: Outbox, sms_api: Any) -> None:
    sms_api.script = [(500, {"error": "upstream"}), (200, {"id": "prov-42"})]
    entry = outbox.enqueue(_sms("R1", text="Olá, código 123"))
    with HttpSmsGateway(sms_api.url, "api-key-xyz", timeout=5) as gateway:
        assert outbox.deliver_pending({"sms": GatewaySender(gateway)}) == DeliveryReport(retried=1)
        assert "HTTP 500" in (outbox.get(entry.id).last_error or "")  # type: ignore[union-attr]
        assert outbox.deliver_pending({"sms": GatewaySender(gateway)}) == DeliveryReport(sent=1)
    row = outbox.get(entry.id)
    assert row is not None and row.state is OutboxState.SENT and row.provider_ref == "prov-42"
    assert len(sms_api.requests) == 2
    request = sms_api.requests[-1]
    assert request["headers"]["Authorization"] == "Bearer api-key-xyz"
    assert request["headers"]["Idempotency-Key"] == entry.message_id
    assert request["json"] == {"to": "+5511987654321", "text": "Olá, código 123", "reference": entry.message_id}


@pytest.mark.parametrize(
    ("status", "state"), [(400, OutboxState.FAILED), (422, OutboxState.FAILED), (429, OutboxState.PENDING)]
)
def test_http_gateway_client_errors(outbox: Outbox, sms_api: Any, status: int, state: OutboxState) -> None:
    sms_api.script = [(status, {"error": "bad number"})]
    entry = outbox.enqueue(_sms("R1"))
    with HttpSmsGateway(sms_api.url, "k", timeout=5) as gateway:
        outbox.deliver_pending({"sms": GatewaySender(gateway)})
    row = outbox.get(entry.id)
    assert row is not None and row.state is state and f"HTTP {status}" in (row.last_error or "")


def test_http_gateway_rejected_key_stops_the_run(outbox: Outbox, sms_api: Any) -> None:
    sms_api.script = [(401, {"error": "unauthorized"})]
    entry = outbox.enqueue(_sms("R1"))
    with HttpSmsGateway(sms_api.url, "wrong-key", timeout=5) as gateway, pytest.raises(ConfigError) as caught:
        outbox.deliver_pending({"sms": GatewaySender(gateway)})
    assert "wrong-key" not in str(caught.value)
    row = outbox.get(entry.id)
    assert row is not None and (row.state, row.attempts) == (OutboxState.PENDING, 0)


def test_http_gateway_unreachable_is_retryable(outbox: Outbox, free_port: Callable[[], int]) -> None:
    ids = [outbox.enqueue(_sms(f"R{i}")).id for i in range(2)]
    with HttpSmsGateway(f"http://127.0.0.1:{free_port()}/sms", "k", timeout=5) as gateway:
        assert outbox.deliver_pending({"sms": GatewaySender(gateway)}) == DeliveryReport(retried=2)
    assert [outbox.get(i).attempts for i in ids] == [1, 0]  # type: ignore[union-attr]


def test_http_gateway_without_an_answer_is_uncertain(outbox: Outbox, sms_api: Any) -> None:
    sms_api.hang = threading.Event()
    entry = outbox.enqueue(_sms("R1"))
    with HttpSmsGateway(sms_api.url, "k", timeout=0.3) as gateway:
        assert outbox.deliver_pending({"sms": GatewaySender(gateway)}) == DeliveryReport(uncertain=1)
    assert sms_api.received.is_set(), "the provider got the request"
    row = outbox.get(entry.id)
    assert row is not None and row.state is OutboxState.UNCERTAIN and "may have been accepted" in (row.last_error or "")
    later = GatewaySender(HttpSmsGateway(sms_api.url, "k", timeout=5), owned=True)
    assert outbox.deliver_pending({"sms": later}) == DeliveryReport()


def test_http_gateway_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="URL"):
        HttpSmsGateway("ftp://sms.example.com", "k")
    with pytest.raises(ConfigError, match="API key"):
        HttpSmsGateway("https://sms.example.com", "")


def test_http_gateway_answer_without_an_id_uses_the_reference(sms_api: Any) -> None:
    sms_api.script = [(202, {"status": "queued"})]
    with HttpSmsGateway(sms_api.url, "k", timeout=5) as gateway:
        assert gateway.send("+5511987654321", "oi", "<ref@esign.local>") == "<ref@esign.local>"
    with HttpSmsGateway(sms_api.url, "k", timeout=5) as gateway, pytest.raises(DeliveryError):
        sms_api.script = [(404, {})]
        gateway.send("+5511987654321", "oi", "<ref@esign.local>")


def test_the_sms_channel_builds_its_gateway_from_the_settings(tmp_path: Path, sms_api: Any) -> None:
    """No URL: the embedded file; a URL and key: the HTTP provider (a third of a deadline per phase); a URL alone is
    a configuration error before any message is claimed."""
    from esign.dispatch.sms import gateway_for
    from esign.settings import load_settings

    embedded = gateway_for(load_settings({}).sms, tmp_path)
    assert isinstance(embedded, FileSmsGateway) and embedded.path == tmp_path / "sms" / "outbox.jsonl"
    environ = {"ESIGN_SMS_URL": sms_api.url, "ESIGN_SMS_API_KEY": "k"}
    with GatewaySender(gateway_for(load_settings(environ).sms, tmp_path, deadline=6.0), owned=True) as sender:
        assert isinstance(sender.gateway, HttpSmsGateway) and sender.gateway._client.timeout.read == 2.0
    with pytest.raises(RuntimeError, match="closed"):  # owned: closed with the delivery call
        sender.gateway.send("+5511987654321", "x", "<m@x>")
    with pytest.raises(ConfigError, match="ESIGN_SMS_API_KEY: required"):
        gateway_for(load_settings({"ESIGN_SMS_URL": sms_api.url}).sms, tmp_path)
