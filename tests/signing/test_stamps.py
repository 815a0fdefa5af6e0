"""Small pieces: overlay cache, text cleaning, atomic private writes."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from esign.errors import KeysError
from esign.model import SignatureSlot
from esign.signing import init_keys
from esign.signing._files import write_private_atomic
from esign.signing.stamps import clean, company_overlay, utc_text

SLOT = SignatureSlot("company", 0, 60, 120, 220, 64)


def test_company_overlay_is_rendered_once_per_signer_and_minute() -> None:
    at = datetime(2026, 11, 28, 14, 3, 5, tzinfo=UTC)
    first = company_overlay(595.0, 842.0, SLOT, "Ana", "CEO", "Acme", at)
    before = company_overlay.cache_info().hits
    again = company_overlay(595.0, 842.0, SLOT, "Ana", "CEO", "Acme", at)
    assert again is first and company_overlay.cache_info().hits == before + 1
    other = company_overlay(595.0, 842.0, SLOT, "Ana", "CEO", "Acme", at + timedelta(minutes=1))
    assert other != first


def test_utc_text_converts_zones_and_takes_naive_as_utc() -> None:
    sp = timezone(timedelta(hours=-3))
    assert utc_text(datetime(2026, 11, 28, 11, 3, tzinfo=sp)) == "2026-11-28 14:03 UTC"
    assert utc_text(datetime(2026, 11, 28, 14, 3, 9), seconds=True) == "2026-11-28 14:03:09 UTC"


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
