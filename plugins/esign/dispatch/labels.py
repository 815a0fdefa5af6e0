"""A message channel's name as a person reads it: the label of its registration (:mod:`esign.dispatch.registry`),
or an event's other origins (:data:`esign.model.labels.EVENT_ORIGIN_LABELS`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from esign.dispatch.registry import find_channel
from esign.model.labels import EVENT_ORIGIN_LABELS

if TYPE_CHECKING:
    from esign.i18n import Translator


def channel_label(channel: str, t: Translator) -> str:
    """The translated name of a channel (its label in :mod:`esign.dispatch.registry`); an unknown one is shown as
    it is."""
    spec = find_channel(str(channel))
    return t.gettext(spec.label) if spec is not None else str(channel)


def event_channel_label(channel: str, t: Translator) -> str:
    """The translated origin of an event (``email``, ``sms``, ``staff``); an unknown one is shown as it is."""
    label = EVENT_ORIGIN_LABELS.get(str(channel))
    return t.gettext(label) if label is not None else channel_label(channel, t)
