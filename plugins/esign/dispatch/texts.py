"""Small pt-BR text helpers shared by the email and SMS builders."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from esign.errors import ConfigError

#: Signers are in Brazil by default; the ledger keeps UTC and messages show local time.
DEFAULT_TZ = "America/Sao_Paulo"


def format_expiry(value: datetime | date, tz_name: str = DEFAULT_TZ) -> str:
    """``31/12/2025 às 23:59`` in the signer's time zone (a plain date prints without a time)."""
    if not isinstance(value, datetime):
        return value.strftime("%d/%m/%Y")
    try:
        zone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"time zone: unknown {tz_name!r}") from exc
    if value.tzinfo is None:
        raise ConfigError("expiry: a datetime without a time zone is ambiguous; pass UTC or a zone-aware value")
    local = value.astimezone(zone)
    return local.strftime("%d/%m/%Y às %H:%M")


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
