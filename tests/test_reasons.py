"""Quarantine reasons: English in the ledger and logs, in the reader's language where a person reads them."""

from __future__ import annotations

from decimal import Decimal

from esign.core.batch_documents import quarantine_reason
from esign.i18n import translator
from esign.model import Deal, LineItem, Party
from esign.reasons import describe_detail, describe_error, describe_reason, field_label
from esign.validate import validate_deal

PT, ES = translator("pt_BR"), translator("es")
CLIENT = Party(name="", tax_id="529.982.247-26", email="joao@", phone="12345")
BAD = Deal(id="D-1", title="t" * 301, amount=Decimal("2e12"), currency="REAL", counterparty=CLIENT,
           line_items=(LineItem("ok", Decimal("0"), Decimal("1")),), extra={"notas": "n" * 2001})


def test_every_validation_error_describes_itself_without_english() -> None:
    described = [describe_error(e, PT) for e in validate_deal(BAD)]
    assert described == [
        "Título do negócio: mais de 300 caracteres (301)",
        "Valor: maior que 1.000.000.000.000",
        "Moeda: não é um código ISO 4217: 'REAL'",
        "Nome do cliente: não informado",
        "CPF/CNPJ do cliente: dígitos verificadores de CPF inválidos",
        "E-mail do cliente: formato inválido",
        "Telefone do cliente: não é um número de telefone válido (por exemplo (11) 98765-4321 ou "
        "+55 11 98765-4321)",
        "Item 1, quantidade: deve ser positivo",
        "Campo “notas”: mais de 2.000 caracteres (2.001)",
    ]


def test_a_stored_reason_reads_back_in_the_readers_language() -> None:
    errors = validate_deal(BAD)
    stored = quarantine_reason([str(e) for e in errors])
    assert stored.startswith("title: longer than 300 characters (301); amount: larger than 1,000,000,000,000")
    assert describe_reason(stored, PT) == "; ".join(describe_error(e, PT) for e in errors)
    assert describe_reason(stored, ES) == "; ".join(describe_error(e, ES) for e in errors)
    assert describe_reason(stored, translator("en")) == "; ".join(describe_error(e, translator("en")) for e in errors)


def test_an_unknown_reason_is_shown_as_it_is() -> None:
    stored = "deal 7: the CRM has no contact; counterparty.name: missing; no colon here"
    assert describe_reason(stored, PT) == ("deal 7: the CRM has no contact; Nome do cliente: não informado; "
                                           "no colon here")


def test_field_labels() -> None:
    assert field_label("line_items[11].unit_price", PT) == "Item 12, preço unitário"
    assert field_label("something.else", PT) == "something.else"
    assert field_label("counterparty.phone", ES) == "Teléfono del cliente"


def test_an_extended_link_reads_as_days_and_the_new_expiry_in_the_readers_zone() -> None:
    stored = "+10 → 2026-12-29T01:17:23+00:00"
    assert describe_detail(stored, translator("pt_BR")) == "+10 dias: válido até 28/12/2026 22:17 (UTC-03:00)"
    assert describe_detail("+1 → 2026-12-29T01:17:23+00:00", translator("es")) == (
        "+1 día: válido hasta 28/12/2026 22:17 (UTC-03:00)")
    assert describe_detail("+3 → 2026-99-99T00:00", translator("pt_BR")) == "+3 → 2026-99-99T00:00"  # kept as is


def test_a_rule_firing_reads_in_the_readers_language_and_unknown_notes_stay() -> None:
    stored = "regra recusa-avisa-gestor (declined): manager emailed (outbox 12); task added (as a timeline comment)"
    assert describe_detail(stored, PT) == ("regra recusa-avisa-gestor (recusado pelo cliente): e-mail enviado ao "
                                           "responsável (mensagem 12); tarefa adicionada (como comentário no negócio)")
    assert describe_detail("regra big (all_signed): deal moved to C1:WON", ES) == (
        "regla big (firmado por todas las partes): negocio movido a C1:WON")
    assert describe_detail("regra x (client_signed): something new", PT) == (
        "regra x (assinado pelo cliente): something new")


def test_signer_reasons_read_back_in_the_readers_language() -> None:
    stored = ("signers[2].tax_id: not a valid CPF; signers[3].email: the same as signer 1's; "
              "signers[4].email: missing (an email or a phone is required to reach this person); "
              "contact #7.role: not a signing role (signer, witness or copy): 'fiador'")
    assert describe_reason(stored, PT) == (
        "Signatário 2, CPF: CPF inválido; Signatário 3, e-mail: o mesmo do signatário 1; "
        "Signatário 4, e-mail: não informado (é preciso um e-mail ou um telefone para contatar esta pessoa); "
        "contact #7.role: não é um papel de assinatura (signatário, testemunha ou cópia): 'fiador'")
    assert field_label("signers[12].phone", PT) == "Signatário 12, telefone"
