"""Which channel reaches a signer, and how a destination is shown in logs and pages without exposing it."""

from __future__ import annotations

import re

from esign import contacts
from esign.dispatch.records import Channel
from esign.errors import ConfigError, DispatchError

_PREFERENCES = ("email", "sms", "auto")


def normalize_email(value: str) -> str | None:
    """The address as used (trimmed, domain in lower case), or None when it is not a plausible address."""
    return contacts.normalize_email(value)


def normalize_phone(value: str, region: str = contacts.DEFAULT_REGION) -> str | None:
    """E.164 (``+5511987654321``), or None. National Brazilian numbers (``(11) 98765-4321``) are read as such."""
    return contacts.normalize_phone(value, region)


def choose_channel(email: str, phone: str, preferred: str = "auto") -> tuple[Channel, str]:
    """Pick the channel and normalised destination: the preferred one, else the other; ``auto`` prefers email.

    Raises DispatchError naming the fields when neither is usable, so the deal can be quarantined with a reason.
    The numbers an SMS can reach are those validation accepts (``esign.contacts``): a landline is not one.
    """
    if preferred not in _PREFERENCES:
        raise ConfigError(f"channel: must be one of {', '.join(_PREFERENCES)} (got {preferred!r})")
    found = {Channel.EMAIL: contacts.normalize_email(email), Channel.SMS: contacts.sms_number(phone)}
    order = (Channel.SMS, Channel.EMAIL) if preferred == "sms" else (Channel.EMAIL, Channel.SMS)
    for channel in order:
        destination = found[channel]
        if destination is not None:
            return channel, destination
    email_text = "missing" if not (email or "").strip() else f"not a valid address ({email!r})"
    phone_text = ("missing" if not (phone or "").strip()
                  else f"not a valid number ({phone!r}): {contacts.phone_problem(phone)}")
    problems = [f"email: {email_text}", f"phone: {phone_text}"]
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
