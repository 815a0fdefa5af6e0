"""Loading the catalogues and the locale-bound :class:`Translator`.

Each language's ``.po`` files (one per area of the package, so parallel work rarely edits the same file) are
compiled in memory when the language is first used and merged into one catalogue: callers never name a domain.
Compiling at load time instead of shipping ``.mo`` files keeps the repository text-only and the catalogue always
in step with the ``.po`` files (a few milliseconds per language, once per process).
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import babel
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from esign.errors import ConfigError

LOCALE_DIR = Path(__file__).resolve().parent / "locale"

#: The company's language unless configured otherwise: the product is made for Brazilian companies.
DEFAULT_LOCALE = "pt_BR"
DEFAULT_TIMEZONE = "America/Sao_Paulo"
SUPPORTED_LOCALES: tuple[str, ...] = ("pt_BR", "en", "es")


def negotiate_locale(requested: str | None, default: str = DEFAULT_LOCALE) -> str:
    """The supported locale closest to ``requested`` (``"pt-BR"``, ``"es_AR"``, ``"EN"``), else ``default``.

    A deal or a browser may carry any language tag; an unsupported one falls back instead of failing, because
    a client must always get a readable page.
    """
    if not requested:
        return default
    tag = requested.strip().replace("-", "_")
    for supported in SUPPORTED_LOCALES:
        if tag.lower() == supported.lower():
            return supported
    language = tag.split("_", 1)[0].lower()
    for supported in SUPPORTED_LOCALES:
        if supported.split("_", 1)[0].lower() == language:
            return supported
    return default


def _compile(po_path: Path, locale: str) -> Translations:
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=po_path.stem)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=po_path.stem)


@functools.cache
def _translations(locale: str) -> NullTranslations:
    """Every domain of ``locale`` merged into one catalogue (empty when the language has no files)."""
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    merged: Translations | None = None
    for po_path in sorted(folder.glob("*.po")):
        compiled = _compile(po_path, locale)
        if merged is None:
            merged = compiled
        else:
            merged.merge(compiled)
    return merged if merged is not None else NullTranslations()


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"timezone: unknown time zone {name!r}") from exc


@dataclass(frozen=True)
class Translator:
    """One reader's language and time zone: translated text, dates, times, numbers and money.

    Build it with :func:`translator`; it is immutable and cheap to share between threads.
    """

    locale: str
    timezone: str
    _catalog: NullTranslations = field(repr=False, compare=False)

    # -- text ---------------------------------------------------------------------------------------
    def gettext(self, message: str) -> str:
        return self._catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._catalog.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return str(self._catalog.pgettext(context, message))

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return self._catalog.npgettext(context, singular, plural, n)

    # -- dates, times, numbers -----------------------------------------------------------------------
    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.timezone)

    def local(self, value: datetime) -> datetime:
        """``value`` in the reader's time zone; a naive value is taken as UTC (the ledger stores UTC)."""
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(self.zone)

    def format_datetime(self, value: datetime, *, seconds: bool = False) -> str:
        """Date and time in the reader's zone with the zone shown: ``18/12/2026 15:11 (UTC-03:00)``.

        The offset is always printed because the same document is read in several places (an e-mail, the portal,
        the PDF) and a time without its zone is ambiguous.
        """
        local = self.local(value)
        time_format = "medium" if seconds else "short"
        date_part = babel_dates.format_date(local, "short", locale=self.locale)
        if len(date_part.split("/")[-1]) == 2:  # en/es short dates have two-digit years; contracts need four
            date_part = babel_dates.format_date(local, "dd/MM/yyyy" if self.locale != "en" else "MM/dd/yyyy",
                                                locale=self.locale)
        time_part = babel_dates.format_time(local, time_format, tzinfo=None, locale=self.locale)
        return f"{date_part} {time_part} ({self.utc_offset(local)})"

    def utc_offset(self, value: datetime) -> str:
        """``UTC-03:00`` for a zone-aware value."""
        offset = self.local(value).utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        sign = "+" if minutes >= 0 else "-"
        hours, mins = divmod(abs(minutes), 60)
        return f"UTC{sign}{hours:02d}:{mins:02d}"

    def format_date(self, value: date | datetime, *, long: bool = False) -> str:
        """A date (``18/12/2026``; ``18 de dezembro de 2026`` when ``long``); a datetime is read in the zone."""
        if isinstance(value, datetime):
            value = self.local(value).date()
        if long:
            return babel_dates.format_date(value, "long", locale=self.locale)
        return babel_dates.format_date(value, "dd/MM/yyyy" if self.locale != "en" else "MM/dd/yyyy",
                                       locale=self.locale)

    def format_number(self, value: int | float | Decimal, *, decimals: int | None = None) -> str:
        if decimals is None:
            return babel_numbers.format_decimal(value, locale=self.locale)
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return babel_numbers.format_decimal(value, format=pattern, locale=self.locale)

    def format_percent(self, value: float, *, decimals: int = 0) -> str:
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + "%"
        return babel_numbers.format_percent(value, format=pattern, locale=self.locale)

    def format_money(self, amount: int | float | Decimal, currency: str = "BRL") -> str:
        """``R$ 1.234,50`` in pt-BR, ``R$1,234.50`` in English."""
        return babel_numbers.format_currency(amount, currency, locale=self.locale)

    # -- templates -----------------------------------------------------------------------------------
    def jinja_context(self) -> dict[str, Any]:
        """Names a Jinja2 template rendered with :func:`esign.i18n.jinja.install` needs for this reader."""
        from esign.i18n.jinja import context_for

        return context_for(self)


@functools.cache
def translator(locale: str | None = None, timezone: str | None = None) -> Translator:
    """The translator for ``locale`` (any tag; negotiated to a supported one) and ``timezone`` (IANA name).

    ``None`` means the company defaults (pt-BR, America/Sao_Paulo). An unknown time zone is a configuration error
    raised here, at the start, rather than when the first date is printed.
    """
    chosen = negotiate_locale(locale)
    zone_name = timezone or DEFAULT_TIMEZONE
    _zone(zone_name)
    babel.Locale.parse(chosen)
    return Translator(locale=chosen, timezone=zone_name, _catalog=_translations(chosen))
