"""The channels a signer can be reached by, registered by name: adding one is a Sender plus one ``register_channel``.

A channel says how it reaches a signer (``reach``: the normalised destination from the deal's e-mail and phone, or
None), which kind of message it carries (``format``: a MIME e-mail built from ``templates/email``, or a short text
like an SMS), what a person calls it (``label``, on the catalogue) and how its :class:`Sender` is built for one
delivery call (``build``). Config validation, the DAG params, the rules, the outbox's sender choice and the labels
read this registry, so none of them spells the channel list.

This module stays light (the DAG files read the names at parse time): the built-in senders are imported only when
a delivery call builds them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from esign.errors import ConfigError
from esign.i18n import N_

if TYPE_CHECKING:
    from esign.dispatch.email import SmtpSettings
    from esign.dispatch.records import OutboxEntry
    from esign.settings import EsignSettings

#: ``email``: the message is the MIME source built from ``templates/email``; ``text``: a short text (SMS-sized).
MessageFormat = Literal["email", "text"]

#: The preference that lets the registry's order decide (the first channel that reaches the signer).
AUTO = "auto"


class Sender(Protocol):
    """Hands one stored outbox message to its channel.

    Returns the provider's reference once the channel accepted the message; raises
    :class:`~esign.dispatch.records.DeliveryError` when it did not (saying whether to retry, whether the message
    may have been accepted, whether the channel is down) or :class:`~esign.errors.ConfigError` when it is
    misconfigured. A sender that is also a context manager is entered once per delivery call, on its first
    message (one SMTP session for a batch), and left at the end.
    """

    def send(self, entry: OutboxEntry) -> str: ...


@dataclass(frozen=True, slots=True)
class SenderContext:
    """What a sender is built from: the worker's typed ``ESIGN_*`` settings (read once by the composition root; a
    gateway reads its group, as SMS reads ``settings.sms``), its SMTP settings (``settings.smtp`` or an edge's
    Connection), its work folder and, for a message someone waits for (a one-time code), the seconds the whole
    send may take."""

    settings: EsignSettings
    smtp: SmtpSettings
    workdir: Path
    deadline: float | None = None


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """One registered channel. ``label`` is an English msgid marked with ``N_`` (translated where shown)."""

    name: str
    label: str
    format: MessageFormat
    reach: Callable[[str, str], str | None] = field(repr=False)  # (e-mail, phone) -> destination or None
    build: Callable[[SenderContext], Sender] = field(repr=False)


_CHANNELS: dict[str, ChannelSpec] = {}


def register_channel(spec: ChannelSpec) -> ChannelSpec:
    """Add a channel (after the ones registered before it: ``auto`` tries them in this order).

    Registering the same name again replaces it in place (a test's fake, a deployment's own gateway).
    """
    if not spec.name or spec.name == AUTO or not spec.name.isidentifier():
        raise ConfigError(f"channel name {spec.name!r}: must be a plain word other than {AUTO!r}")
    _CHANNELS[spec.name] = spec
    return spec


def unregister_channel(name: str) -> None:
    """Remove a channel (tests that registered one clean up after themselves)."""
    _CHANNELS.pop(name, None)


def channel_names() -> tuple[str, ...]:
    """The registered channels in registration (``auto``) order."""
    return tuple(_CHANNELS)


def preferences() -> tuple[str, ...]:
    """What a run, a rule or a DAG param may ask for: ``auto`` or one channel's name."""
    return (AUTO, *_CHANNELS)


def channel(name: str) -> ChannelSpec:
    """The channel called ``name``; ConfigError naming the registered ones otherwise."""
    spec = _CHANNELS.get(str(name))
    if spec is None:
        raise ConfigError(f"channel {name!r}: not registered (known: {', '.join(_CHANNELS)})")
    return spec


def find_channel(name: str) -> ChannelSpec | None:
    """The channel called ``name``, or None (labels of channels recorded by an older configuration)."""
    return _CHANNELS.get(str(name))


def check_preference(value: object, where: str) -> str:
    """``value`` when it is ``auto`` or a registered channel; a ConfigError saying where otherwise."""
    if not isinstance(value, str) or value not in preferences():
        raise ConfigError(f"{where}: must be one of {', '.join(preferences())}, got {value!r}")
    return value


def build_senders(names: Iterable[str], context: SenderContext) -> dict[str, Sender]:
    """The senders of these channels for one delivery call."""
    return {name: channel(name).build(context) for name in names}


# -- the built-in channels ------------------------------------------------------------------------------------
def _email_sender(context: SenderContext) -> Sender:
    from esign.dispatch.email import SmtpSender

    return SmtpSender(context.smtp, deadline=context.deadline)


def _sms_sender(context: SenderContext) -> Sender:
    from esign.dispatch.sms import GatewaySender, gateway_for

    return GatewaySender(gateway_for(context.settings.sms, context.workdir, context.deadline), owned=True)


def _email_address(email: str, _phone: str) -> str | None:
    from esign import contacts

    return contacts.normalize_email(email)


def _mobile_number(_email: str, phone: str) -> str | None:
    from esign import contacts

    return contacts.sms_number(phone)  # the numbers validation accepts: a landline is not one


register_channel(ChannelSpec("email", N_("E-mail"), "email", _email_address, _email_sender))
register_channel(ChannelSpec("sms", N_("SMS"), "text", _mobile_number, _sms_sender))
