"""Template filters: money, numbers, dates and tax IDs as Brazilian documents print them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from esign.render.filters import ENV, cpf_cnpj, format_date, format_number, money, tax_label


@pytest.mark.parametrize(("value", "currency", "expected"), [
    (Decimal("1234.56"), "BRL", "R$ 1.234,56"),
    (Decimal("0"), "BRL", "R$ 0,00"),
    (Decimal("1234567.891"), "BRL", "R$ 1.234.567,89"),
    (Decimal("-10.5"), "BRL", "-R$ 10,50"),
    (Decimal("99.999"), "USD", "US$ 100,00"),
    (Decimal("5"), "EUR", "€ 5,00"),
    (Decimal("5"), "CHF", "CHF 5,00"),
    ("not a number", "BRL", "R$ 0,00"),
])
def test_money(value: object, currency: str, expected: str) -> None:
    assert money(value, currency) == expected


def test_money_in_english_locale() -> None:
    assert money(Decimal("1234.5"), "USD", "en_US") == "US$ 1,234.50"


@pytest.mark.parametrize(("value", "places", "expected"), [
    (Decimal("80"), None, "80"), (Decimal("1.50"), None, "1,5"), (Decimal("12345"), None, "12.345"),
    (Decimal("2.5"), 2, "2,50"),
])
def test_number(value: Decimal, places: int | None, expected: str) -> None:
    assert format_number(value, places) == expected


def test_dates() -> None:
    moment = datetime(2026, 11, 28, 23, 30, tzinfo=timezone(timedelta(hours=-3)))  # 02:30 UTC next day
    assert format_date(moment) == "29/11/2026"
    assert format_date(moment, "long") == "29 de novembro de 2026"
    assert format_date(moment, "datetime") == "29/11/2026 02:30 UTC"
    assert format_date(date(2026, 3, 1), "long") == "1 de março de 2026"
    assert format_date(datetime(2026, 3, 1, tzinfo=UTC), "long", "en_US") == "March 1, 2026"


def test_tax_ids() -> None:
    assert cpf_cnpj("52998224725") == "529.982.247-25"
    assert cpf_cnpj("11222333000181") == "11.222.333/0001-81"
    assert cpf_cnpj("12abc34501de35") == "12.ABC.345/01DE-35"
    assert cpf_cnpj("123") == "123"
    assert tax_label("529.982.247-25") == "CPF"
    assert tax_label("11.222.333/0001-81") == "CNPJ"


def test_environment_escapes_values_for_paragraph_markup() -> None:
    out = ENV.from_string("<b>{{ name }}</b>").render(name="A & B <i>x</i></para>")
    assert out == "<b>A &amp; B &lt;i&gt;x&lt;/i&gt;&lt;/para&gt;</b>"


def test_environment_is_sandboxed() -> None:
    from jinja2.exceptions import SecurityError

    with pytest.raises(SecurityError):
        ENV.from_string("{{ x.__class__.__mro__ }}").render(x=1)
