"""Which channel reaches a signer, and how a destination is shown in logs and pages without exposing it."""

from __future__ import annotations

import re

from esign import contacts
from esign.dispatch.registry import AUTO, channel_names, check_preference, find_channel
from esign.errors import DispatchError


def normalize_email(value: str) -> str | None:
    """The address as used (trimmed, domain in lower case), or None when it is not a plausible address."""
    return contacts.normalize_email(value)


def normalize_phone(value: str, region: str = contacts.DEFAULT_REGION) -> str | None:
    """E.164 (``+5511987654321``), or None. National Brazilian numbers (``(11) 98765-4321``) are read as such."""
    return contacts.normalize_phone(value, region)


def choose_channel(email: str, phone: str, preferred: str = AUTO) -> tuple[str, str]:
    """Pick the channel and normalised destination: the preferred one, else the others in the registry's order;
    ``auto`` takes that order as it is (e-mail first, then SMS, then channels registered later).

    Raises DispatchError naming the fields when neither is usable, so the deal can be quarantined with a reason.
    The numbers an SMS can reach are those validation accepts (``esign.contacts``): a landline is not one.
    """
    check_preference(preferred, "channel")
    names = channel_names()
    order = names if preferred == AUTO else (preferred, *(n for n in names if n != preferred))
    for name in order:
        spec = find_channel(name)
        destination = spec.reach(email, phone) if spec is not None else None
        if destination is not None:
            return name, destination
    email_text = "missing" if not (email or "").strip() else f"not a valid address ({email!r})"
    phone_text = ("missing" if not (phone or "").strip()
                  else f"not a valid number ({phone!r}): {contacts.phone_problem(phone)}")
    problems = [f"email: {email_text}", f"phone: {phone_text}"]
    raise DispatchError(f"no channel to reach the signer: {'; '.join(problems)}")


def mask_destination(channel: str, destination: str) -> str:
    """``j***@example.com`` / ``+55 11 9****-4321``: enough to recognise, not enough to harvest (an e-mail
    channel's address, any other channel's destination as a number)."""
    spec = find_channel(channel)
    if spec is not None and spec.format == "email":
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
