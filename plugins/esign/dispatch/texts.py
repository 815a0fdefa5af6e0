"""Small text helpers shared by the email and SMS builders: dates in the reader's zone, cutting, SMS segments."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime

from esign.errors import ConfigError
from esign.i18n import DEFAULT_TIMEZONE, Translator, translator

#: Signers are in Brazil by default; the ledger keeps UTC and messages show local time.
DEFAULT_TZ = DEFAULT_TIMEZONE

#: The GSM 03.38 basic character set: an SMS written only with these goes as GSM-7 (160 characters a segment).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: Characters of the GSM-7 extension table: two septets each.
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
SEGMENT_GSM7, PART_GSM7 = 160, 153
SEGMENT_UCS2, PART_UCS2 = 70, 67


def format_expiry(value: datetime | date, t: Translator | str = DEFAULT_TZ) -> str:
    """``31/12/2025 23:59 (UTC-03:00)`` in the reader's language and zone (a plain date prints without a time)."""
    reader = translator(None, t) if isinstance(t, str) else t
    if not isinstance(value, datetime):
        return reader.format_date(value)
    if value.tzinfo is None:
        raise ConfigError("expiry: a datetime without a time zone is ambiguous; pass UTC or a zone-aware value")
    return reader.format_datetime(value)


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word when possible, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def gsm7(text: str) -> str:
    """``text`` in the GSM-7 alphabet: accents outside it dropped (``ã`` -> ``a``, ``ç`` -> ``c``), anything else
    that has no GSM-7 form replaced by ``?``. One accented letter would make the whole SMS UCS-2 (70 characters a
    segment instead of 160), so a name or a title is written the way Brazilian SMS are."""
    out: list[str] = []
    for char in text.replace("…", "...").replace("“", '"').replace("”", '"').replace("’", "'").replace("–", "-"):
        if char in GSM7_BASIC or char in GSM7_EXTENDED:
            out.append(char)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append(base if base and all(c in GSM7_BASIC for c in base) else "?")
    return "".join(out)


def sms_segments(text: str) -> int:
    """How many billed segments ``text`` takes: GSM-7 (160, or 153 per part) when every character has a GSM-7
    form, else UCS-2 (70, or 67 per part; characters outside the BMP count twice)."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text):
        length = sum(2 if c in GSM7_EXTENDED else 1 for c in text)
        single, part = SEGMENT_GSM7, PART_GSM7
    else:
        length = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
        single, part = SEGMENT_UCS2, PART_UCS2
    if length <= single:
        return 1
    return -(-length // part)
