"""Formatting helpers exposed to templates as Jinja2 filters, and the one sandboxed environment.

Why a sandbox with autoescape: templates are edited by ops, and field values come from a CRM that
anyone can type into. The sandbox keeps templates from reaching Python internals; autoescape turns
"<b>" or "&" in a company name into text for reportlab's paragraph markup instead of markup.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from esign.validate import tax_id_digits

CURRENCY_SYMBOLS = {"BRL": "R$", "USD": "US$", "EUR": "€", "GBP": "£"}
MONTHS_PT = ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro",
             "outubro", "novembro", "dezembro")
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December")


def _to_decimal(value: Any) -> Decimal:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)
    return number if number.is_finite() else Decimal(0)


def _group(digits: str, sep: str) -> str:
    parts: list[str] = []
    while len(digits) > 3:
        parts.insert(0, digits[-3:])
        digits = digits[:-3]
    parts.insert(0, digits)
    return sep.join(parts)


def format_number(value: Any, places: int | None = 2, locale: str = "pt_BR") -> str:
    """1234.5 -> "1.234,50" (pt_BR) or "1,234.50" (en_US); places=None keeps significant decimals."""
    number = _to_decimal(value)
    if places is not None:
        number = number.quantize(Decimal(1).scaleb(-places))
    elif number == number.to_integral_value():
        number = number.quantize(Decimal(1))
    else:
        number = number.normalize()
    sign = "-" if number < 0 else ""
    text = f"{abs(number):f}"
    whole, _, frac = text.partition(".")
    thousands, decimal_sep = (",", ".") if locale == "en_US" else (".", ",")
    out = _group(whole, thousands)
    return f"{sign}{out}{decimal_sep}{frac}" if frac else f"{sign}{out}"


def money(value: Any, currency: str = "BRL", locale: str = "pt_BR") -> str:
    """Money in the deal currency: Decimal("1234.56"), "BRL" -> "R$ 1.234,56"."""
    number = _to_decimal(value)
    symbol = CURRENCY_SYMBOLS.get(str(currency), str(currency)[:3])
    text = format_number(abs(number), 2, locale)
    return f"-{symbol} {text}" if number < 0 else f"{symbol} {text}"


def format_date(value: Any, style: str = "short", locale: str = "pt_BR") -> str:
    """Dates: "short" 28/11/2026, "long" 28 de novembro de 2026, "datetime" 28/11/2026 14:03 UTC."""
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
        day: date = moment.date()
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
        day = value
    else:
        return str(value)
    english = locale == "en_US"
    if style == "long":
        if english:
            return f"{MONTHS_EN[day.month - 1]} {day.day}, {day.year}"
        return f"{day.day} de {MONTHS_PT[day.month - 1]} de {day.year}"
    short = day.strftime("%Y-%m-%d") if english else day.strftime("%d/%m/%Y")
    if style == "datetime":
        return f"{short} {moment.strftime('%H:%M')} UTC"
    return short


def cpf_cnpj(value: Any) -> str:
    """Punctuate a tax ID: 11 -> 000.000.000-00 (CPF), 14 -> 00.000.000/0000-00 (CNPJ); else as given."""
    raw = str(value)
    d = tax_id_digits(raw)
    if len(d) == 11:
        return f"{d[:3]}.{d[3:6]}.{d[6:9]}-{d[9:]}"
    if len(d) == 14:
        return f"{d[:2]}.{d[2:5]}.{d[5:8]}/{d[8:12]}-{d[12:]}"
    return raw


def tax_label(value: Any) -> str:
    """ "CPF" for 11 characters, else "CNPJ" (companies are the common case)."""
    return "CPF" if len(tax_id_digits(str(value))) == 11 else "CNPJ"


def make_environment() -> ImmutableSandboxedEnvironment:
    """The sandboxed, autoescaping environment templates are compiled with (one per process)."""
    env = ImmutableSandboxedEnvironment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=False)
    env.filters.update({
        "money": money,
        "number": format_number,
        "date": format_date,
        "cpf_cnpj": cpf_cnpj,
        "tax_label": tax_label,
    })
    return env


ENV = make_environment()
