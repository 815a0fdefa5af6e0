"""``esign roles|users|approve|document`` with ``--as USER``: refused without the right, done with it."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from esign.cli import EXIT_FAIL, EXIT_OK, EXIT_USAGE, main
from esign.composition import reset
from esign.model import Stage
from esign.pipeline import send
from tests.pipeline.conftest import LINK_SECRET, Pipe, pipe  # noqa: F401  (fixture)
from tests.support import TEST_PASSPHRASE


@pytest.fixture
def home(pipe: Pipe, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipe]:  # noqa: F811
    monkeypatch.setenv("ESIGN_HOME", str(pipe.workdir))
    monkeypatch.setenv("ESIGN_LINK_SECRET", LINK_SECRET)
    monkeypatch.setenv("ESIGN_PUBLIC_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ESIGN_SMTP_PORT", str(pipe.mail.port))
    monkeypatch.setenv("ESIGN_KEY_PASSPHRASE", TEST_PASSPHRASE.decode())
    reset()
    yield pipe
    reset()


def run(*argv: str) -> int:
    return main(list(argv))


def test_bootstrap_then_settings_need_the_right(home: Pipe, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert run("roles", "init") == EXIT_OK
    monkeypatch.setattr("sys.stdin", io.StringIO("senha-do-admin\n"))
    assert run("users", "add", "admin", "--role", "Admin", "--password-stdin") == EXIT_OK
    assert run("users", "add", "ana", "--manager", "2", "--role", "Employee") == EXIT_USAGE  # --as now required
    assert run("users", "add", "ana", "--manager", "2", "--role", "Employee", "--as", "admin") == EXIT_OK
    assert run("roles", "set", "Employee", "reports.view=own", "--as", "ana") == EXIT_FAIL
    assert "ana lacks the right settings.manage" in capsys.readouterr().err
    assert run("users", "grant", "ana", "Director", "--as", "ana") == EXIT_FAIL
    assert run("users", "token", "admin", "--as", "ana") == EXIT_FAIL
    assert run("roles", "set", "Director", "documents.delete=all", "--as", "admin") == EXIT_OK
    assert run("roles", "set", "Director", "documents.delete", "--as", "admin") == EXIT_USAGE
    assert run("roles", "set", "Director", "documents.delete=most", "--as", "admin") == EXIT_USAGE
    assert run("users", "add", "bad", "--role", "Nope", "--as", "admin") == EXIT_USAGE
    assert run("users", "add", "ghost", "--as", "nobody") == EXIT_FAIL
    capsys.readouterr()
    assert run("roles", "list") == EXIT_OK
    assert run("users", "list") == EXIT_OK
    out = capsys.readouterr().out
    assert "Director: " in out and "documents.delete=all" in out
    assert "ana: -, manager 2, roles Employee" in out


def test_approve_needs_a_director(home: Pipe, capsys: pytest.CaptureFixture[str]) -> None:
    services = home.services
    for batch in send.plan_batches(services, "run-cli"):
        send.prepare_batch(services, batch)
    assert run("roles", "init") == EXIT_OK
    assert run("users", "add", "maria", "--role", "Director") == EXIT_OK
    assert run("users", "add", "bruno", "--role", "Supervisor", "--manager", "1", "--as", "maria") == EXIT_FAIL
    assert run("approve", "run-cli") == EXIT_USAGE
    assert run("approve", "run-cli", "--as", "nobody") == EXIT_FAIL
    assert run("approve", "run-cli", "--as", "maria") == EXIT_OK
    assert "batch(es) of run run-cli approved" in capsys.readouterr().out


def test_document_actions_only_on_own_deals(home: Pipe, capsys: pytest.CaptureFixture[str]) -> None:
    services = home.services
    from tests.pipeline.conftest import run_send

    run_send(services, "run-docs")
    sent = services.ws.ledger.list_by_stage(Stage.SENT)
    mine, other = sent[0], next(r for r in sent if r.manager_id != sent[0].manager_id)
    assert run("roles", "init") == EXIT_OK
    assert run("users", "add", "emp", "--role", "Employee", "--manager", str(mine.manager_id)) == EXIT_OK
    assert run("document", "cancel", other.id) == EXIT_USAGE
    for action in (("cancel", other.id), ("resend", other.id), ("extend", other.id, "--days", "3")):
        assert run("document", *action, "--as", "emp") == EXIT_FAIL
    assert "emp lacks the right" in capsys.readouterr().err
    assert run("document", "extend", mine.id, "--days", "3", "--as", "emp") == EXIT_OK
    assert run("document", "resend", mine.id, "--as", "emp") == EXIT_OK
    assert run("document", "cancel", mine.id, "--reason", "cliente desistiu", "--as", "emp") == EXIT_OK
    assert services.ws.ledger.get(mine.id).stage is Stage.CANCELED
    assert services.ws.ledger.get(other.id).stage is Stage.SENT
    actors = {e.actor for e in services.ws.ledger.events(mine.id) if e.action in ("canceled", "resend_queued")}
    assert actors == {"emp"}
    assert run("document", "cancel", mine.id, "--as", "emp") == EXIT_FAIL  # already canceled
