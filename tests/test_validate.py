"""Deal validation: every problem named by field, real CPF/CNPJ check digits, and text sanitising."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from esign.contacts import PHONE_INVALID
from esign.errors import ValidationError
from esign.model import Deal, LineItem, Party, SignerRole, SignerSpec
from esign.model.signers import arrange
from esign.validate import (
    deal_warnings,
    is_valid_cnpj,
    is_valid_cpf,
    sanitize_text,
    signer_warnings,
    tax_id_problem,
    validate_deal,
    validate_party,
    validate_signers,
)

GOOD_PARTY = Party(name="Ünïcödé Comércio Ltda", tax_id="11.222.333/0001-81", address="Rua A, 1, São Paulo",
                   email="financeiro@unicode.com.br", phone="+55 11 98765-4321")


def deal(**changes: object) -> Deal:
    values: dict[str, object] = {"id": "D-1", "title": "Implantação", "amount": Decimal("10.00"),
                                 "currency": "BRL", "counterparty": GOOD_PARTY,
                                 "line_items": (LineItem("Consultoria", Decimal("1"), Decimal("10.00")),)}
    values.update(changes)
    return Deal(**values)  # type: ignore[arg-type]


def party(**changes: str) -> Party:
    values = {"name": GOOD_PARTY.name, "tax_id": GOOD_PARTY.tax_id, "address": GOOD_PARTY.address,
              "email": GOOD_PARTY.email, "phone": GOOD_PARTY.phone}
    values.update(changes)
    return Party(**values)


def messages(errors: list[ValidationError]) -> list[str]:
    return [str(error) for error in errors]


def test_a_good_deal_has_no_problems() -> None:
    assert validate_deal(deal()) == []


@pytest.mark.parametrize("value", ["529.982.247-25", "52998224725", "111.444.777-35"])
def test_valid_cpfs(value: str) -> None:
    assert is_valid_cpf(value)
    assert tax_id_problem(value) is None


@pytest.mark.parametrize("value", ["529.982.247-26", "111.111.111-11", "5299822472X", "123"])
def test_invalid_cpfs(value: str) -> None:
    assert not is_valid_cpf(value)


@pytest.mark.parametrize("value", ["11.222.333/0001-81", "11222333000181", "12.ABC.345/01DE-35",
                                   "12abc34501de35"])
def test_valid_cnpjs_numeric_and_alphanumeric(value: str) -> None:
    assert is_valid_cnpj(value)


@pytest.mark.parametrize("value", ["11.222.333/0001-82", "00.000.000/0000-00", "12.ABC.345/01DE-36",
                                   "12.ABC.345/01DE-3X"])
def test_invalid_cnpjs(value: str) -> None:
    assert not is_valid_cnpj(value)


@pytest.mark.parametrize(("changes", "expected"), [
    ({"name": ""}, "counterparty.name: missing"),
    ({"name": "   \n"}, "counterparty.name: missing"),
    ({"tax_id": ""}, "counterparty.tax_id: missing"),
    ({"tax_id": "11.222.333/0001-82"}, "counterparty.tax_id: invalid CNPJ check digits"),
    ({"tax_id": "529.982.247-26"}, "counterparty.tax_id: invalid CPF check digits"),
    ({"tax_id": "1234"}, "counterparty.tax_id: must be a CPF (11 digits) or a CNPJ (14 characters), got 4 "
                         "characters"),
    ({"email": "joao@", "phone": ""}, "counterparty.email: invalid format"),
    ({"email": "jo ao@x.com", "phone": ""}, "counterparty.email: invalid format"),
    ({"email": "a..b@x.com", "phone": ""}, "counterparty.email: invalid format"),
    ({"email": "joao@localhost", "phone": ""}, "counterparty.email: invalid format"),
    ({"email": "", "phone": "+55 11 98"}, f"counterparty.phone: {PHONE_INVALID}"),
    ({"email": "", "phone": "+1234567890123456"}, f"counterparty.phone: {PHONE_INVALID}"),
    ({"email": "", "phone": "+0123456789"}, f"counterparty.phone: {PHONE_INVALID}"),
    ({"email": "", "phone": "12345"}, f"counterparty.phone: {PHONE_INVALID}"),
    ({"email": "", "phone": "(11) 3333-4444"}, "counterparty.phone: a landline number: it cannot receive the code "
                                               "by SMS"),
    ({"email": "", "phone": ""}, "counterparty.email: missing (an email or a phone is required to reach the "
                                 "client)"),
    ({"name": "x" * 201}, "counterparty.name: longer than 200 characters (201)"),
    ({"address": "x" * 5000}, "counterparty.address: longer than 500 characters (5000)"),
])
def test_counterparty_problems_name_field_and_reason(changes: dict[str, str], expected: str) -> None:
    assert messages(validate_deal(deal(counterparty=party(**changes)))) == [expected]


def test_one_contact_channel_is_enough() -> None:
    assert validate_deal(deal(counterparty=party(email=""))) == []
    assert validate_deal(deal(counterparty=party(phone=""))) == []


@pytest.mark.parametrize("phone", ["11987654321", "(11) 98765-4321", "+55 11 98765-4321", "0055 11 98765 4321"])
def test_national_brazilian_numbers_are_valid(phone: str) -> None:
    assert validate_deal(deal(counterparty=party(email="", phone=phone))) == []
    assert deal_warnings(deal(counterparty=party(email="", phone=phone))) == []


def test_a_bad_phone_with_a_good_email_is_a_note_not_a_quarantine() -> None:
    noted = deal(counterparty=party(phone="12345"))
    assert validate_deal(noted) == []
    assert messages(deal_warnings(noted)) == [f"counterparty.phone: {PHONE_INVALID}"]
    by_sms = deal(counterparty=party(email="joao@"))
    assert validate_deal(by_sms) == []
    assert messages(deal_warnings(by_sms)) == ["counterparty.email: invalid format"]


def test_neither_contact_usable_names_both_fields() -> None:
    errors = validate_deal(deal(counterparty=party(email="joao@", phone="12345")))
    assert [e.field for e in errors] == ["counterparty.email", "counterparty.phone"]
    assert deal_warnings(deal(counterparty=party(email="joao@", phone="12345"))) == []


def test_reasons_are_message_ids_with_parameters() -> None:
    (error,) = validate_deal(deal(title="t" * 301))
    assert (error.field, error.msgid, error.params) == ("title", "longer than %(max)s characters (%(length)s)",
                                                        {"max": 300, "length": 301})
    assert str(error) == "title: longer than 300 characters (301)"


def test_all_problems_are_reported_together() -> None:
    bad = deal(title="t" * 301, amount=Decimal("-1"), currency="REAL",
               counterparty=party(name="", tax_id="000", email="nope", phone="123"),
               line_items=(LineItem("ok", Decimal("1"), Decimal("1")), LineItem("", Decimal("0"), Decimal("-2")),
                           LineItem("x" * 2001, Decimal("NaN"), Decimal("1"))))
    errors = validate_deal(bad)
    assert all(isinstance(error, ValidationError) for error in errors)
    assert {error.field for error in errors} == {
        "title", "amount", "currency", "counterparty.name", "counterparty.tax_id", "counterparty.email",
        "counterparty.phone", "line_items[1].description", "line_items[1].quantity", "line_items[1].unit_price",
        "line_items[2].description", "line_items[2].quantity"}
    assert "title: longer than 300 characters (301)" in messages(errors)
    assert "line_items[1].quantity: must be positive" in messages(errors)
    assert "amount: must not be negative" in messages(errors)
    assert "currency: not an ISO 4217 code: 'REAL'" in messages(errors)


@pytest.mark.parametrize("currency", ["brl", "XXX", "", "R$"])
def test_currency_must_be_iso_4217(currency: str) -> None:
    assert [error.field for error in validate_deal(deal(currency=currency))] == ["currency"]


@pytest.mark.parametrize("currency", ["BRL", "USD", "EUR", "JPY"])
def test_known_currencies_pass(currency: str) -> None:
    assert validate_deal(deal(currency=currency)) == []


def test_non_numeric_amount_is_a_problem_not_a_crash() -> None:
    assert messages(validate_deal(deal(amount="abc"))) == ["amount: not a number"]


def test_emoji_and_right_to_left_text_are_not_errors() -> None:
    friendly = party(name="Loja do Zé 😀🦄 שלום مرحبا", address="Rua ✓, 10")
    assert validate_deal(deal(title="Pedido 🚀 עברית", counterparty=friendly)) == []


def test_extra_free_text_is_limited() -> None:
    assert messages(validate_deal(deal(extra={"notes": "n" * 2001}))) == [
        "extra.notes: longer than 2000 characters (2001)"]


def test_length_limits_count_sanitised_text() -> None:
    # 200 visible characters plus control characters are still within the limit.
    assert validate_deal(deal(counterparty=party(name="a" * 200 + "\x00\x07"))) == []


def test_validate_party_for_the_company_can_skip_contact() -> None:
    company = Party(name="Acme", tax_id="11222333000181")
    assert validate_party(company, "company", need_contact=False) == []
    assert messages(validate_party(company, "company")) == [
        "company.email: missing (an email or a phone is required to reach the client)"]


def test_sanitize_strips_control_characters_but_keeps_newline_and_tab() -> None:
    assert sanitize_text("a\x00b\x1bc\x7fd\r\ne\tf\u0085") == "abcd\ne\tf"


def test_sanitize_normalises_to_nfc() -> None:
    decomposed = "Sa\u0303o Paulo"  # "a" + combining tilde
    assert sanitize_text(decomposed) == "São Paulo"
    assert len(sanitize_text(decomposed)) == len("São Paulo")


def test_sanitize_keeps_emoji_joiners_and_rtl_marks() -> None:
    text = "👩\u200d💻 \u200fשלום"
    assert sanitize_text(text) == text


def test_sanitize_drops_lone_surrogates() -> None:
    assert sanitize_text("a\ud800b") == "ab"


# -- several signers ------------------------------------------------------------------------------------------
def _signers() -> tuple[SignerSpec, ...]:
    return arrange([
        SignerSpec(0, SignerRole.SIGNER, "Ana Lima", "529.982.247-25", GOOD_PARTY.email, GOOD_PARTY.phone),
        SignerSpec(0, SignerRole.SIGNER, "Bruno Reis", "", "bruno@unicode.com.br", ""),
        SignerSpec(0, SignerRole.WITNESS, "Carla Dias", "111.444.777-35", "", "+55 21 98888-7777"),
        SignerSpec(0, SignerRole.COPY, "Contador", "", "contador@unicode.com.br", ""),
    ], "sequential")


def test_good_signers_pass() -> None:
    assert validate_signers(_signers()) == []
    assert validate_deal(deal(signers=_signers())) == []


def test_each_signer_problem_names_its_position_and_field() -> None:
    a, b, c, d = _signers()
    bad = (replace(a, name=" "), replace(b, tax_id="123.456.789-00"), replace(c, tax_id=""),
           replace(d, email="", phone=""))
    assert [str(e) for e in validate_signers(bad)] == [
        "signers[1].name: missing",
        "signers[2].tax_id: not a valid CPF",
        "signers[3].tax_id: missing",
        "signers[4].email: missing (an email or a phone is required to reach this person)",
    ]


def test_a_witness_needs_a_valid_cpf_and_everyone_a_usable_contact() -> None:
    _, _, witness, _ = _signers()
    errors = validate_signers([replace(witness, tax_id="11.222.333/0001-81", phone="12345")])
    assert [str(e) for e in errors] == ["signers[3].tax_id: not a valid CPF", f"signers[3].phone: {PHONE_INVALID}"]
    # an unusable e-mail next to a usable phone is a warning, not an error
    assert validate_signers([replace(witness, email="rita@")]) == []
    assert [str(w) for w in signer_warnings([replace(witness, email="rita@")])] == [
        "signers[3].email: invalid format"]


def test_two_signing_persons_with_one_email_or_phone_name_both_positions() -> None:
    a, b, c, d = _signers()
    same = (a, replace(b, email=a.email.upper()), replace(c, phone="(11) 98765-4321"), replace(d, email=a.email))
    assert [str(e) for e in validate_signers(same)] == [
        "signers[2].email: the same as signer 1's",
        "signers[3].phone: the same as signer 1's",
    ]  # a copy recipient may share an address: they sign nothing


def test_signer_one_is_the_counterparty_whose_contact_is_checked_once() -> None:
    a, *rest = _signers()
    client = party(email="", phone="")
    errors = validate_deal(deal(counterparty=client, signers=(replace(a, email="", phone=""), *rest)))
    assert [str(e) for e in errors] == ["counterparty.email: missing (an email or a phone is required to reach the "
                                        "client)"]


def test_validate_deal_arranges_the_deals_own_signers() -> None:
    raw = tuple(replace(s, position=0) for s in _signers())
    witness = replace(raw[2], tax_id="1")
    assert [str(e) for e in validate_deal(deal(signers=(raw[0], raw[3], witness, raw[1])))] == [
        "signers[3].tax_id: not a valid CPF"]  # positions as the document gives them, not the CRM's order
