"""A toy channel, written the way a deployment adds one: a Sender and its registration (see ``WHATSAPP``).

It posts the short text to an HTTP endpoint (``WHATSAPP_URL``) and reaches a signer on the mobile number SMS would
use. Registering it is one line: ``register_channel(WHATSAPP)``. A deployment's own channel reads its own
configuration: ``WHATSAPP_URL`` is not an ``ESIGN_*`` variable, so the sender reads it from the process environment
when a delivery call builds it (the typed settings in ``context.settings`` hold only what the project knows).
"""

from __future__ import annotations

import os

import httpx

from esign import contacts
from esign.dispatch.records import DeliveryError, OutboxEntry
from esign.dispatch.registry import ChannelSpec, SenderContext
from esign.errors import ConfigError
from esign.i18n import N_


class WhatsAppSender:
    """POSTs ``{"to", "text", "reference"}``; 2xx is accepted (its ``id`` the reference), anything else refused."""

    def __init__(self, url: str) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"WHATSAPP_URL: must be an http(s) URL (got {url!r})")
        self.url = url

    def send(self, entry: OutboxEntry) -> str:
        body = {"to": entry.destination, "text": entry.text, "reference": entry.message_id}
        try:
            response = httpx.post(self.url, json=body, timeout=5)
        except httpx.ConnectError as exc:
            raise DeliveryError(f"WhatsApp endpoint unreachable: {exc!r}", retryable=True, channel_down=True) from exc
        if response.status_code // 100 != 2:
            raise DeliveryError(f"WhatsApp endpoint answered HTTP {response.status_code}", retryable=False)
        return str(response.json().get("id") or entry.message_id)


def build(context: SenderContext) -> WhatsAppSender:
    return WhatsAppSender(os.environ.get("WHATSAPP_URL", ""))


WHATSAPP = ChannelSpec(name="whatsapp", label=N_("WhatsApp"), format="text",
                       reach=lambda _email, phone: contacts.sms_number(phone), build=build)
