"""Translations and locale-aware formatting for every surface a person reads.

Source strings (msgids) are English and live in the code and templates; the catalogues under ``locale/`` give
pt-BR (the default: the clients and the staff are Brazilian), ``en`` and ``es``. A :class:`Translator` is bound
to one language and one time zone, so a page, a message or a certificate is produced in its reader's language
without any global state (the portal serves clients of several languages at once).
"""

from __future__ import annotations

from esign.i18n.catalog import (
    DEFAULT_LOCALE,
    DEFAULT_TIMEZONE,
    SUPPORTED_LOCALES,
    Translator,
    negotiate_locale,
    translator,
)


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a module-level constant for extraction; translate it where it is shown (``t.gettext(CONST)``)."""
    return message


__all__ = [
    "DEFAULT_LOCALE",
    "DEFAULT_TIMEZONE",
    "N_",
    "SUPPORTED_LOCALES",
    "Translator",
    "negotiate_locale",
    "translator",
]
