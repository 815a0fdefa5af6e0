"""Choosing the channel for a signer and masking destinations."""

from __future__ import annotations

import pytest

from esign.dispatch.channels import choose_channel, mask_destination, normalize_phone
from esign.dispatch.records import Channel
from esign.errors import ConfigError, DispatchError
from esign.model import Party
from esign.validate import validate_party


@pytest.mark.parametrize(
    ("email", "phone", "preferred", "expected"),
    [
        ("ana@example.com", "+55 11 98765-4321", "auto", (Channel.EMAIL, "ana@example.com")),
        ("", "(11) 98765-4321", "auto", (Channel.SMS, "+5511987654321")),
        ("ana@example.com", "11987654321", "sms", (Channel.SMS, "+5511987654321")),
        (" ana@example.com ", "", "sms", (Channel.EMAIL, "ana@example.com")),
        ("not-an-email", "+1 415 555 2671", "email", (Channel.SMS, "+14155552671")),
        ("Ana@Example.COM", "", "auto", (Channel.EMAIL, "Ana@example.com")),
        ("", "0055 11 98765 4321", "email", (Channel.SMS, "+5511987654321")),
        ("ana@example.com", "(11) 3333-4444", "sms", (Channel.EMAIL, "ana@example.com")),  # a landline: no SMS
        ("ana@example.com", "12345", "sms", (Channel.EMAIL, "ana@example.com")),
    ],
)
def test_choose_channel(email: str, phone: str, preferred: str, expected: tuple[Channel, str]) -> None:
    assert choose_channel(email, phone, preferred) == expected


def test_no_usable_channel_names_both_fields() -> None:
    with pytest.raises(DispatchError, match=r"email: missing; phone: missing"):
        choose_channel("", "  ", "auto")
    with pytest.raises(DispatchError, match=r"email: not a valid address.*phone: not a valid number"):
        choose_channel("ana@", "12", "email")
    with pytest.raises(DispatchError, match=r"phone: not a valid number .*landline"):
        choose_channel("", "(11) 3333-4444", "sms")


@pytest.mark.parametrize(("email", "phone"), [("ana@example.com", "11987654321"), ("", "(11) 98765-4321"),
                                              ("a..b@x.com", "+55 11 98765-4321"), ("ana@localhost", "")])
def test_validation_and_dispatch_agree(email: str, phone: str) -> None:
    """What validation lets through, dispatch can send to; what it quarantines, dispatch cannot."""
    errors = validate_party(Party(name="Ana", tax_id="52998224725", email=email, phone=phone), "counterparty")
    if errors:
        with pytest.raises(DispatchError):
            choose_channel(email, phone)
    else:
        choose_channel(email, phone)


def test_unknown_preference_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="channel"):
        choose_channel("ana@example.com", "", "fax")


@pytest.mark.parametrize(
    ("raw", "normal"),
    [("0055 11 98765 4321", "+5511987654321"), ("1133334444", "+551133334444"), ("abc", None), ("+0123", None),
     ("11987654321", "+5511987654321"), ("(11) 98765-4321", "+5511987654321"), ("12345", None), ("", None)],
)
def test_normalize_phone(raw: str, normal: str | None) -> None:
    assert normalize_phone(raw) == normal


@pytest.mark.parametrize(
    ("channel", "destination", "masked"),
    [
        ("email", "joao@example.com", "j***@example.com"),
        ("email", "broken", "***"),
        ("sms", "+5511987654321", "+55 11 9****-4321"),
        ("sms", "+551133334444", "+55 11 3***-4444"),
        ("sms", "+14155552671", "+14 *****2671"),
        ("sms", "123", "***"),
    ],
)
def test_mask_destination(channel: str, destination: str, masked: str) -> None:
    assert mask_destination(channel, destination) == masked


def test_a_registered_channel_joins_the_preferences_in_registration_order() -> None:
    """``auto`` tries e-mail, SMS, then channels registered later; a preferred channel goes first; an unknown name is
    a configuration error everywhere the registry is read."""
    from esign.dispatch.registry import ChannelSpec, channel, preferences, register_channel, unregister_channel

    pager = ChannelSpec("pager", "Pager", "text", lambda _e, phone: phone.strip() or None,
                        lambda _context: channel("sms").build(_context))
    register_channel(pager)
    try:
        assert preferences() == ("auto", "email", "sms", "pager")
        assert choose_channel("ana@example.com", "4242", "auto") == ("email", "ana@example.com")
        assert choose_channel("ana@example.com", "4242", "pager") == ("pager", "4242")
        assert choose_channel("", "4242", "auto") == ("pager", "4242")  # not a mobile: SMS cannot, the pager can
        assert mask_destination("pager", "4242") == "***"
    finally:
        unregister_channel("pager")
    with pytest.raises(ConfigError, match="channel 'pager': not registered"):
        channel("pager")
    with pytest.raises(ConfigError, match="channel: must be one of auto, email, sms"):
        choose_channel("ana@example.com", "", "pager")
