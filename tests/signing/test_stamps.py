"""Small pieces: overlay cache, text cleaning, atomic private writes."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from esign.errors import KeysError
from esign.i18n import translator
from esign.model import ClientEvidence, SignatureSlot
from esign.signing import init_keys
from esign.signing._files import write_private_atomic
from esign.signing.stamps import clean, client_caption, company_overlay, utc

PT = translator("pt_BR")

SLOT = SignatureSlot("company", 0, 60, 120, 220, 64)


def test_company_overlay_is_rendered_once_per_signer_minute_and_language() -> None:
    at = datetime(2026, 11, 28, 14, 3, 5, tzinfo=UTC)
    first = company_overlay(595.0, 842.0, SLOT, "Ana", "CEO", "Acme", at, PT)
    before = company_overlay.cache_info().hits
    again = company_overlay(595.0, 842.0, SLOT, "Ana", "CEO", "Acme", at, translator("pt-BR"))
    assert again is first and company_overlay.cache_info().hits == before + 1
    other = company_overlay(595.0, 842.0, SLOT, "Ana", "CEO", "Acme", at + timedelta(minutes=1), PT)
    assert other != first
    assert company_overlay(595.0, 842.0, SLOT, "Ana", "CEO", "Acme", at, translator("es")) != first


def test_utc_converts_zones_and_takes_naive_as_utc() -> None:
    sp = timezone(timedelta(hours=-3))
    assert utc(datetime(2026, 11, 28, 11, 3, tzinfo=sp)) == datetime(2026, 11, 28, 14, 3, tzinfo=UTC)
    assert utc(datetime(2026, 11, 28, 14, 3, 9)).tzinfo is UTC


@pytest.mark.parametrize(("locale", "channel", "expected"), [
    ("pt_BR", "sms", "Assinado eletronicamente por João em 29/11/2026 11:10 (UTC-03:00), código confirmado por SMS "
                     "para +55 11 9****-1234"),
    ("es", "sms", "Firmado electrónicamente por João el 29/11/2026 11:10 (UTC-03:00), código confirmado por SMS a "
                  "+55 11 9****-1234"),
    ("en", "email", "Electronically signed by João on 11/29/2026 11:10\u202fAM (UTC-03:00), code confirmed by "
                    "E-mail to +55 11 9****-1234"),
])
def test_client_caption_in_the_readers_language_and_zone(locale: str, channel: str, expected: str) -> None:
    at = datetime(2026, 11, 29, 14, 10, tzinfo=UTC)
    evidence = ClientEvidence(signer_name="João", signed_at=at, channel=channel,
                              masked_destination="+55 11 9****-1234", code_verified_at=at)
    assert client_caption(evidence, translator(locale)) == expected


def test_clean_drops_control_characters_and_caps_length() -> None:
    assert clean("a\x00b\nc\u200bd") == "a b c d"
    assert clean("x" * 50, limit=10) == "x" * 9 + "…"


def test_atomic_write_leaves_nothing_half_written(tmp_path: Path) -> None:
    target = tmp_path / "secret.bin"
    write_private_atomic(target, b"old")
    with pytest.raises(TypeError):
        write_private_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["secret.bin"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_keys_dir_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "keys"
    blocker.write_text("not a folder")
    with pytest.raises(KeysError, match="cannot create keys folder"):
        init_keys(blocker, b"pw", "Acme", "Ana", "CEO")
