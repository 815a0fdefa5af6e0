"""``esign doctor``: all green on a ready installation, and each check failing with what to fix."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from esign.cli import main
from esign.cli.doctor_command import FAIL, OK, WARN, Check, run_checks
from esign.config import Settings
from esign.crm.seed import seed_demo
from esign.dispatch.mailserver import LocalMailServer
from esign.signing import describe_identity, load_identity
from esign.store import init_schema, make_engine
from tests.support import PROJECT_DIR, TEST_PASSPHRASE

LINK_SECRET = "doctor-tests-link-secret-0123456789abcdef"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[LocalMailServer]:
    with LocalMailServer(tmp_path / "mail") as server:
        yield server


@pytest.fixture
def env(tmp_path: Path, core_settings: Settings, mail: LocalMailServer) -> dict[str, str]:
    """A ready installation: migrated ledger with the seeded embedded CRM, keys, secrets, a listening SMTP."""
    url = f"sqlite:///{tmp_path / 'esign.db'}"
    engine = make_engine(url)
    init_schema(engine)
    seed_demo(engine, 3)
    engine.dispose()
    return {"ESIGN_PROJECT_DIR": str(PROJECT_DIR), "ESIGN_HOME": str(tmp_path), "ESIGN_DATABASE_URL": url,
            "ESIGN_KEYS_DIR": str(core_settings.keys_dir), "ESIGN_KEY_PASSPHRASE": TEST_PASSPHRASE.decode(),
            "ESIGN_LINK_SECRET": LINK_SECRET, "ESIGN_SMTP_HOST": "127.0.0.1", "ESIGN_SMTP_PORT": str(mail.port)}


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def _failed(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks if c.status == FAIL}


def test_a_ready_installation_passes_every_check(env: dict[str, str]) -> None:
    checks = run_checks(env, timeout=5)
    assert [c.name for c in checks] == ["company", "pipeline", "templates", "secrets", "database", "migrations",
                                        "keys", "smtp", "crm", "work"]
    assert all(c.status == OK for c in checks), [c for c in checks if c.status != OK]
    assert LINK_SECRET not in repr(checks) and TEST_PASSPHRASE.decode() not in repr(checks)


def test_the_command_exits_0_when_ready_and_1_with_the_fix(env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["doctor", "--timeout", "5"]) == 0
    assert "10 checks: 0 failed, 0 warnings" in capsys.readouterr().out
    monkeypatch.setenv("ESIGN_SMTP_PORT", str(_closed_port()))
    assert main(["doctor", "--timeout", "5"]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] smtp:" in out and "fix: check ESIGN_SMTP_HOST/PORT" in out
    assert "1 failed" in out


def test_a_bad_setting_stops_at_configuration(env: dict[str, str]) -> None:
    checks = run_checks({**env, "ESIGN_PUBLIC_URL": "portal.example"})
    assert [(c.name, c.status) for c in checks] == [("configuration", FAIL)]
    assert "ESIGN_PUBLIC_URL" in checks[0].detail


def test_missing_files_and_secrets_are_named(env: dict[str, str], tmp_path: Path) -> None:
    bad_yaml = tmp_path / "pipeline.yaml"
    bad_yaml.write_text("crm: [unclosed\n")
    environ = {**env, "ESIGN_COMPANY_FILE": str(tmp_path / "nope.yaml"), "ESIGN_PIPELINE_FILE": str(bad_yaml),
               "ESIGN_TEMPLATES_DIR": str(tmp_path / "no-templates")}
    del environ["ESIGN_LINK_SECRET"]
    failed = _failed(run_checks(environ, timeout=5))
    assert {"company", "pipeline", "templates", "secrets"} <= set(failed)
    assert "nope.yaml" in failed["company"].detail and "ESIGN_COMPANY_FILE" in failed["company"].fix
    assert "ESIGN_TEMPLATES_DIR" in failed["templates"].fix
    assert "ESIGN_LINK_SECRET" in failed["secrets"].detail


def test_an_unreachable_database_fails_and_skips_what_needs_it(env: dict[str, str]) -> None:
    url = f"postgresql+psycopg://esign:s3cret-pw@127.0.0.1:{_closed_port()}/esign"
    listed = run_checks({**env, "ESIGN_DATABASE_URL": url}, timeout=3)
    checks = _by_name(listed)
    assert checks["database"].status == FAIL and "ESIGN_DATABASE_URL" in checks["database"].fix
    assert checks["migrations"].status == FAIL and "not checked" in checks["migrations"].detail
    assert checks["crm"].status == FAIL and "not checked" in checks["crm"].detail
    assert "s3cret-pw" not in repr(listed)


def test_an_unmigrated_database_asks_for_db_upgrade(env: dict[str, str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    check = _by_name(run_checks({**env, "ESIGN_DATABASE_URL": url}, timeout=5))["migrations"]
    assert check.status == FAIL and "empty database" in check.detail and check.fix == "run `esign db upgrade`"
    assert not (tmp_path / "empty.db").exists() or (tmp_path / "empty.db").stat().st_size == 0  # never creates


def test_an_unversioned_ledger_asks_for_db_upgrade(env: dict[str, str], tmp_path: Path) -> None:
    from esign.store.db import _register_all_tables
    from esign.store.schema import metadata

    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    engine = make_engine(url)
    _register_all_tables()
    metadata.create_all(engine)
    engine.dispose()
    check = _by_name(run_checks({**env, "ESIGN_DATABASE_URL": url}, timeout=5))["migrations"]
    assert check.status == FAIL and "unversioned ledger" in check.detail


def test_keys_wrong_passphrase_expiring_and_expired(env: dict[str, str], core_settings: Settings) -> None:
    check = _by_name(run_checks({**env, "ESIGN_KEY_PASSPHRASE": "wrong-passphrase"}, timeout=5))["keys"]
    assert check.status == FAIL and "esign keys init" in check.fix
    identity = load_identity(core_settings.pkcs12_path, TEST_PASSPHRASE, core_settings.ca_cert_path)
    not_after = identity.cert.not_valid_after_utc
    soon = _by_name(run_checks(env, timeout=5, now=not_after - timedelta(days=10)))["keys"]
    assert soon.status == WARN and "expires in 10 days" in soon.detail and "renew" in soon.fix
    late = _by_name(run_checks(env, timeout=5, now=not_after + timedelta(days=1)))["keys"]
    assert late.status == FAIL and "expired" in late.detail
    assert describe_identity(identity)["subject"] in late.detail


def test_a_warning_alone_does_not_fail(env: dict[str, str]) -> None:
    identity = load_identity(Path(env["ESIGN_KEYS_DIR"]) / "director.p12", TEST_PASSPHRASE,
                             Path(env["ESIGN_KEYS_DIR"]) / "company-ca.pem")
    checks = run_checks(env, timeout=5, now=identity.cert.not_valid_after_utc - timedelta(days=5))
    assert {c.status for c in checks} == {OK, WARN} and not _failed(checks)


def test_smtp_refused_and_not_smtp(env: dict[str, str]) -> None:
    refused = _by_name(run_checks({**env, "ESIGN_SMTP_PORT": str(_closed_port())}, timeout=3))["smtp"]
    assert refused.status == FAIL and "ConnectionRefusedError" in refused.detail
    with socket.socket() as server:  # something listening that is not an SMTP server: closes at once
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        import threading

        def hang_up() -> None:
            conn, _ = server.accept()
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            conn.close()

        thread = threading.Thread(target=hang_up, daemon=True)
        thread.start()
        wrong = _by_name(run_checks({**env, "ESIGN_SMTP_PORT": str(port)}, timeout=3))["smtp"]
        thread.join(timeout=10)
    assert wrong.status == FAIL and "ESIGN_SMTP_HOST" in wrong.fix


def test_crm_without_stages_or_with_unknown_codes(env: dict[str, str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no-crm.db'}"
    engine = make_engine(url)
    init_schema(engine)
    engine.dispose()
    empty = _by_name(run_checks({**env, "ESIGN_DATABASE_URL": url}, timeout=5))["crm"]
    assert empty.status == FAIL and "no deal stages" in empty.detail and "esign crm seed" in empty.fix
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text((PROJECT_DIR / "config" / "pipeline.yaml").read_text().replace("C1:WON", "C1:NOPE"))
    unknown = _by_name(run_checks({**env, "ESIGN_PIPELINE_FILE": str(pipeline)}, timeout=5))["crm"]
    assert unknown.status == FAIL and "C1:NOPE" in unknown.detail and "esign crm stages" in unknown.fix


def test_bitrix24_without_a_webhook(env: dict[str, str], tmp_path: Path) -> None:
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text("crm: bitrix24\n")
    check = _by_name(run_checks({**env, "ESIGN_PIPELINE_FILE": str(pipeline)}, timeout=5))["crm"]
    assert check.status == FAIL and "ESIGN_BITRIX24_WEBHOOK" in check.detail + check.fix
