"""A document's page: its signing link (channel, expiry, reminders), its message history and its audit trail,
in Portuguese, contacts in full only for who may see the parties."""

from __future__ import annotations

from datetime import timedelta

import pytest

from esign.model import Stage
from esign.pipeline import collect
from tests.register.conftest import Desk


def _section(page: str, element_id: str) -> str:
    start = page.index(f'id="{element_id}"')
    return page[start:page.index("</", page.index(">", start) + 1) + 2000]


def test_the_link_section_shows_channel_expiry_and_reminders(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    request = desk.services.requests.for_document(desk.mine.id)
    assert request is not None
    t = desk.services.ws.company.translator()
    page = desk.client("dir").get(f"/staff/documents/{desk.mine.id}").text
    link = _section(page, "link")
    assert f"E-mail · {request.destination}" in link or f"SMS · {request.destination}" in link
    assert "Aberto" in link and t.format_datetime(request.expires_at) in link
    first = request.created_at + timedelta(days=desk.services.config.reminder_after_days)
    assert f"0 de 2 enviados · próximo a partir de {t.format_datetime(first)}" in link
    with monkeypatch.context() as later_on:  # the collect run three days later sends the first reminder
        later_on.setattr(desk.services.requests, "_clock", lambda: first + timedelta(minutes=1))
        assert collect.send_reminders(desk.services, now=first + timedelta(minutes=1))["queued"] >= 1
    later = desk.client("dir").get(f"/staff/documents/{desk.mine.id}").text
    assert "1 de 2 enviados" in _section(later, "link-reminders")
    messages = _section(later, "messages")
    assert "Convite" in messages and "Lembrete ou reenvio" in messages and "Aceita pelo servidor" in messages


def test_contacts_are_masked_for_who_may_not_see_the_parties(desk: Desk) -> None:
    request = desk.services.requests.for_document(desk.mine.id)
    assert request is not None
    page = desk.client("leitor").get(f"/staff/documents/{desk.mine.id}").text
    assert request.destination not in page and request.masked_destination in page
    assert desk.mine.counterparty_tax_id not in page


def test_the_audit_trail_reads_in_portuguese(desk: Desk) -> None:
    page = desk.client("dir").get(f"/staff/documents/{desk.done.id}").text
    trail = page[page.index('id="events"'):]
    for label in ("Documento criado", "Assinado pela empresa", "Link enviado", "Código de confirmação enviado",
                  "Código de confirmação aceito", "Assinado pelo cliente", "Concluído e selado", "Sistema", "Cliente"):
        assert label in trail, label
    for code in (">created<", ">code_sent<", ">client_signed<", ">pipeline<"):
        assert code not in trail, code


def test_a_quarantine_reason_and_the_trails_details_read_in_portuguese(desk: Desk) -> None:
    reason = ("counterparty.phone: not a valid phone number (expected e.g. (11) 98765-4321 or +55 11 98765-4321); "
              "counterparty.tax_id: invalid CPF check digits")
    record, _ = desk.services.ws.ledger.create_document(deal_id="q-1", template_id="contrato_servicos",
                                                        title="Contrato", stage=Stage.QUARANTINED, reason=reason)
    page = desk.client("dir").get(f"/staff/documents/{record.id}").text
    assert ("Telefone do cliente: não é um número de telefone válido (por exemplo (11) 98765-4321 ou "
            "+55 11 98765-4321); CPF/CNPJ do cliente: dígitos verificadores de CPF inválidos") in page
    assert "not a valid phone number" not in page and "check digits" not in page
    done = desk.client("dir").get(f"/staff/documents/{desk.done.id}").text
    trail = done[done.index('id="events"'):]
    assert "assinado por " in trail and "signed by" not in trail and ">sealed<" not in trail
