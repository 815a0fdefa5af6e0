"""Which channel reaches a signer, and how a destination is shown in logs and pages without exposing it."""

from __future__ import annotations

import re

from esign.dispatch.records import Channel
from esign.errors import ConfigError, DispatchError

_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
_PHONE_NOISE = re.compile(r"[\s().\-/]")
_PREFERENCES = ("email", "sms", "auto")


def normalize_email(value: str) -> str | None:
    """The address trimmed, or None when it is not a plain ``local@domain.tld`` address."""
    value = (value or "").strip()
    return value if _EMAIL.match(value) else None


def normalize_phone(value: str, default_country: str = "55") -> str | None:
    """E.164 (``+5511987654321``), or None. National Brazilian numbers (10-11 digits) get ``+55``."""
    raw = _PHONE_NOISE.sub("", (value or "").strip())
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    if raw.startswith("+"):
        digits = raw[1:]
    elif len(raw) in (10, 11):
        digits = default_country + raw
    else:
        digits = raw
    if not digits.isdigit() or not 10 <= len(digits) <= 15 or digits.startswith("0"):
        return None
    return "+" + digits


def choose_channel(email: str, phone: str, preferred: str = "auto") -> tuple[Channel, str]:
    """Pick the channel and normalised destination: the preferred one, else the other; ``auto`` prefers email.

    Raises DispatchError naming the fields when neither is usable, so the deal can be quarantined with a reason.
    """
    if preferred not in _PREFERENCES:
        raise ConfigError(f"channel: must be one of {', '.join(_PREFERENCES)} (got {preferred!r})")
    found = {Channel.EMAIL: normalize_email(email), Channel.SMS: normalize_phone(phone)}
    order = (Channel.SMS, Channel.EMAIL) if preferred == "sms" else (Channel.EMAIL, Channel.SMS)
    for channel in order:
        destination = found[channel]
        if destination is not None:
            return channel, destination
    problems = [
        f"email: {'missing' if not (email or '').strip() else f'not a valid address ({email!r})'}",
        f"phone: {'missing' if not (phone or '').strip() else f'not a valid number ({phone!r})'}",
    ]
    raise DispatchError(f"no channel to reach the signer: {'; '.join(problems)}")


def mask_destination(channel: Channel | str, destination: str) -> str:
    """``j***@example.com`` / ``+55 11 9****-4321``: enough to recognise, not enough to harvest."""
    if Channel(channel) is Channel.EMAIL:
        local, at, domain = destination.partition("@")
        if not at:
            return "***"
        return f"{local[:1]}***@{domain}"
    digits = re.sub(r"\D", "", destination)
    if len(digits) < 8:
        return "***"
    if digits.startswith("55") and len(digits) in (12, 13):
        area, subscriber = digits[2:4], digits[4:]
        return f"+55 {area} {subscriber[0]}{'*' * (len(subscriber) - 5)}-{subscriber[-4:]}"
    return f"+{digits[:2]} {'*' * (len(digits) - 6)}{digits[-4:]}"
