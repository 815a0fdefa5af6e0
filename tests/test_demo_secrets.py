"""Secrets: the environment first, then the file it names, then (a demo installation) the demo's random files."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from esign.config import demo_secret_path, key_passphrase, link_secret
from esign.errors import ConfigError
from esign.settings import load_settings

DEMO_SECRET = "a-demo-secret-of-more-than-32-characters-0123"


def _demo_files(keys: Path) -> None:
    keys.mkdir(parents=True)
    (keys / "demo-link-secret").write_text(DEMO_SECRET + "\n")
    (keys / "demo-passphrase").write_text("demo passphrase")


def test_without_any_setting_the_demos_files_in_the_workdir_are_used(tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    _demo_files(tmp_path / "keys")
    env = load_settings({"ESIGN_HOME": str(tmp_path)})
    with caplog.at_level(logging.WARNING, logger="esign.config"):
        assert link_secret(env) == DEMO_SECRET.encode()
        assert key_passphrase(env) == b"demo passphrase"
    assert "ESIGN_LINK_SECRET is not set: using the demo's secret in" in caplog.text
    assert DEMO_SECRET not in caplog.text


def test_the_environment_wins_over_the_demo_files(tmp_path: Path) -> None:
    _demo_files(tmp_path / "keys")
    other = tmp_path / "other"
    other.write_text("x" * 40)
    assert link_secret(load_settings({"ESIGN_HOME": str(tmp_path), "ESIGN_LINK_SECRET": "y" * 40})) == b"y" * 40
    assert link_secret(load_settings({"ESIGN_HOME": str(tmp_path), "ESIGN_LINK_SECRET_FILE": str(other)})) == b"x" * 40


def test_the_keys_folder_follows_the_settings(tmp_path: Path) -> None:
    assert demo_secret_path("ESIGN_LINK_SECRET", load_settings({"ESIGN_KEYS_DIR": str(tmp_path / "k")})) == \
        tmp_path / "k" / "demo-link-secret"
    assert demo_secret_path("ESIGN_KEY_PASSPHRASE", load_settings({"ESIGN_PROJECT_DIR": str(tmp_path)})) == \
        tmp_path / "var" / "keys" / "demo-passphrase"


def test_nothing_anywhere_is_named_and_a_bad_demo_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ESIGN_LINK_SECRET: not set"):
        link_secret(load_settings({"ESIGN_HOME": str(tmp_path)}))
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "demo-link-secret").write_text("short")
    with pytest.raises(ConfigError, match="at least 32 characters"):
        link_secret(load_settings({"ESIGN_HOME": str(tmp_path)}))
    (tmp_path / "keys" / "demo-passphrase").write_text("")
    with pytest.raises(ConfigError, match="is empty"):
        key_passphrase(load_settings({"ESIGN_HOME": str(tmp_path)}))
