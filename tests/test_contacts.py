"""One reading of contact data: phonenumbers for numbers (national BR formats, E.164 out), one e-mail check."""

from __future__ import annotations

import pytest

from esign.contacts import (
    PHONE_INVALID,
    PHONE_LANDLINE,
    Problem,
    email_problem,
    normalize_email,
    normalize_phone,
    phone_problem,
    sms_number,
)
from esign.i18n import translator


@pytest.mark.parametrize("raw", ["11987654321", "(11) 98765-4321", "+55 11 98765-4321", "11 98765.4321",
                                 "0055 11 98765 4321", "+5511987654321", "021 11 98765-4321"])
def test_national_and_international_forms_give_one_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+5511987654321"
    assert phone_problem(raw) is None and sms_number(raw) == "+5511987654321"


@pytest.mark.parametrize("raw", ["", "12345", "abc", "+0123", "+55 11 98", "+1234567890123456", "9" * 50])
def test_what_is_not_a_number(raw: str) -> None:
    assert normalize_phone(raw) is None and sms_number(raw) is None
    assert phone_problem(raw) == Problem(PHONE_INVALID)


def test_a_landline_is_a_number_but_not_for_sms() -> None:
    assert normalize_phone("(11) 3333-4444") == "+551133334444"
    assert phone_problem("(11) 3333-4444") == Problem(PHONE_LANDLINE) and sms_number("(11) 3333-4444") is None


def test_foreign_numbers_keep_their_country() -> None:
    assert normalize_phone("+1 415 555 2671") == "+14155552671"
    assert normalize_phone("+351 912 345 678") == "+351912345678"


@pytest.mark.parametrize(("raw", "normal"), [(" Ana.Souza@Example.COM.br ", "Ana.Souza@example.com.br"),
                                             ("joao+crm@xn--mnchen-3ya.de", "joao+crm@xn--mnchen-3ya.de")])
def test_emails_are_trimmed_and_their_domain_lowered(raw: str, normal: str) -> None:
    assert email_problem(raw) is None and normalize_email(raw) == normal


@pytest.mark.parametrize("raw", ["", "joao@", "jo ao@x.com", "a..b@x.com", "joao@localhost", "x" * 65 + "@a.com",
                                 "a@" + "b" * 250 + ".com"])
def test_bad_emails(raw: str) -> None:
    assert email_problem(raw) is not None and normalize_email(raw) is None


def test_a_problem_is_english_for_logs_and_translated_for_people() -> None:
    long = email_problem("a@" + "b" * 300 + ".com")
    assert long is not None and str(long) == "longer than 254 characters"
    assert long.describe(translator("pt_BR")) == "mais de 254 caracteres"
    assert Problem(PHONE_LANDLINE).describe(translator("es")).startswith("un número fijo")
