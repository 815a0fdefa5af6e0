"""Every ``esign`` command's happy path, on one embedded installation: exit 0 and the output a person reads.

A last test lists the parser's commands and fails when one has no happy path here (``demo`` runs in
``tests/test_demo.py``, as ``make demo`` does).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import smtplib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from esign.cli import EXIT_FAIL, EXIT_OK, build_parser, main
from esign.composition import reset
from esign.model import Stage
from esign.pipeline import collect
from esign.store.schema import documents
from tests.pipeline.conftest import LINK_SECRET, Pipe, client_declines, client_signs, pipe, run_send  # noqa: F401
from tests.support import PROJECT_DIR, TEST_PASSPHRASE

#: Commands whose happy path runs elsewhere, and where.
ELSEWHERE = {"demo": "tests/test_demo.py::test_demo_runs_the_whole_loop"}
COVERED: set[str] = set()


def esign(*argv: str) -> int:
    COVERED.update({argv[0], " ".join(argv[:2])})
    return main(list(argv))


def _env(installed: Pipe) -> dict[str, str]:
    return {"ESIGN_HOME": str(installed.workdir), "ESIGN_LINK_SECRET": LINK_SECRET,
            "ESIGN_PUBLIC_URL": "http://127.0.0.1:9", "ESIGN_SMTP_HOST": "127.0.0.1",
            "ESIGN_SMTP_PORT": str(installed.mail.port), "ESIGN_KEY_PASSPHRASE": TEST_PASSPHRASE.decode(),
            "ESIGN_REPORTS_DIR": str(installed.workdir / "reports")}


@pytest.fixture
def home(pipe: Pipe, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipe]:  # noqa: F811
    for key, value in _env(pipe).items():
        monkeypatch.setenv(key, value)
    reset()
    yield pipe
    reset()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_keys_init_exits_0_and_lists_the_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ESIGN_HOME", str(tmp_path))
    monkeypatch.setenv("ESIGN_KEY_PASSPHRASE", "a-passphrase-for-this-test")
    assert esign("keys", "init") == EXIT_OK
    out = capsys.readouterr().out
    for name in ("p12", "ca_cert", "ca_key"):
        line = next(x for x in out.splitlines() if x.strip().startswith(f"{name}:"))
        assert Path(line.split(":", 1)[1].strip()).is_file(), line
    assert esign("keys", "show") == EXIT_OK
    assert "fingerprint" in capsys.readouterr().out.lower()


def test_core_pipeline_and_access_commands(home: Pipe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert esign("db", "init") == EXIT_OK
    assert esign("db", "upgrade") == EXIT_OK
    assert "head" in capsys.readouterr().out
    assert esign("crm", "stages") == EXIT_OK and "C1:PREPARATION" in capsys.readouterr().out
    assert esign("crm", "pull", "--stage", "C1:PREPARATION", "--limit", "2") == EXIT_OK
    assert len(capsys.readouterr().out.splitlines()) == 2
    run_send(home.services, "run-cli")
    sent = home.ws.ledger.list_by_stage(Stage.SENT)
    client_signs(home.services, sent[0].id)
    client_declines(home.services, sent[1].id)
    collect.finalize_documents(home.services, [sent[0].id])
    final = home.ws.version_path("final", sent[0].id)
    assert esign("verify", str(final)) == EXIT_OK and "DOCUMENTO AUTÊNTICO" in capsys.readouterr().out

    assert esign("status") == EXIT_OK
    out = capsys.readouterr().out
    assert "Documentos por etapa:" in out and "Documentos parados: nenhum" in out  # the company's language
    assert "Concluído" in out or "concluído" in out.lower(), out
    assert esign("status", "--json") == EXIT_OK
    assert json.loads(capsys.readouterr().out)["stuck"]["total"] == 0
    assert esign("doctor", "--timeout", "5") == EXIT_OK
    assert "0 failed" in capsys.readouterr().out

    rules = tmp_path / "rules.yaml"
    rules.write_text((PROJECT_DIR / "config" / "rules.demo.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    assert esign("rules", "check", "--file", str(rules)) == EXIT_OK
    assert esign("rules", "explain", sent[1].deal_id, "--file", str(rules)) == EXIT_OK
    capsys.readouterr()

    assert esign("roles", "init") == EXIT_OK
    assert esign("roles", "list") == EXIT_OK
    monkeypatch.setattr("sys.stdin", io.StringIO("senha-da-diretora\n"))
    assert esign("users", "add", "maria", "--role", "Admin", "--role", "Director", "--password-stdin") == EXIT_OK
    assert esign("roles", "set", "Juridico", "documents.view=all", "--as", "maria") == EXIT_OK
    assert esign("roles", "delete", "Juridico", "--as", "maria") == EXIT_OK
    assert esign("users", "add", "ana", "--manager", str(sent[2].manager_id), "--role", "Employee",
                 "--as", "maria") == EXIT_OK
    assert esign("users", "grant", "ana", "Supervisor", "--as", "maria") == EXIT_OK
    assert esign("users", "revoke", "ana", "Supervisor", "--as", "maria") == EXIT_OK
    monkeypatch.setattr("sys.stdin", io.StringIO("outra-senha-longa\n"))
    assert esign("users", "passwd", "ana", "--as", "maria") == EXIT_OK
    assert esign("users", "token", "ana", "--as", "maria") == EXIT_OK
    assert esign("users", "deactivate", "ana", "--as", "maria") == EXIT_OK
    assert esign("users", "activate", "ana", "--as", "maria") == EXIT_OK
    assert esign("users", "list") == EXIT_OK
    assert "ana" in capsys.readouterr().out

    open_doc = sent[2]
    assert esign("document", "extend", open_doc.id, "--days", "3", "--as", "maria") == EXIT_OK
    assert esign("document", "resend", open_doc.id, "--as", "maria") == EXIT_OK
    assert esign("document", "resend", open_doc.id, "--signer", "1", "--as", "maria") == EXIT_OK  # the same link
    assert esign("document", "cancel", open_doc.id, "--reason", "cliente desistiu", "--as", "maria") == EXIT_OK
    assert home.ws.ledger.get(open_doc.id).stage is Stage.CANCELED
    assert esign("crm", "seed", "--deals", "2") == EXIT_OK  # new deals in the trigger stage, for a new run
    from esign.pipeline import send

    planned = send.plan_batches(home.services, "run-approve")
    for batch in planned:
        send.prepare_batch(home.services, batch)
    assert esign("approve", "run-approve", "--as", "maria") == EXIT_OK
    assert "approved" in capsys.readouterr().out

    reports = tmp_path / "reports"
    assert esign("report", "--out", str(reports)) == EXIT_OK
    assert list(reports.rglob("*.html"))


def test_status_and_doctor_list_stuck_documents_and_exit_1(home: Pipe, capsys: pytest.CaptureFixture[str]) -> None:
    from esign.pipeline import send

    planned = send.plan_batches(home.services, "run-stuck")
    for batch in planned:
        send.prepare_batch(home.services, batch)
    send.approve_run(home.services, "run-stuck", "director")
    send.sign_batch(home.services, planned[0])  # the run died here
    assert esign("status") == EXIT_OK, "just now: not stuck yet"
    capsys.readouterr()
    _older(home, hours=2)
    assert esign("status") == EXIT_FAIL
    out = capsys.readouterr().out
    signed = home.ws.ledger.list_batch(str(planned[0]["batch_id"]), [Stage.COMPANY_SIGNED])
    assert "Documentos parados (com trabalho pendente há mais de 60 min): " in out
    line = next(x for x in out.splitlines() if signed[0].id in x)
    assert "aguarda o seu convite há 2 h 00 min" in line or "aguarda o seu convite há 120 min" in line, line
    assert "aguarda a assinatura da empresa há" in out
    assert esign("status", "--stuck-after", "180") == EXIT_OK
    capsys.readouterr()
    assert esign("status", "--json") == EXIT_FAIL
    stuck = json.loads(capsys.readouterr().out)["stuck"]
    assert stuck["total"] == len([r for b in planned for r in home.ws.ledger.list_batch(str(b["batch_id"]))
                                  if r.stage in (Stage.DRAFT, Stage.COMPANY_SIGNED)])
    assert {d["owed"] for d in stuck["documents"]} == {"company_signature", "invitation"}
    assert all(d["age_minutes"] >= 120 for d in stuck["documents"])
    assert esign("doctor", "--timeout", "5") == EXIT_FAIL
    out = capsys.readouterr().out
    assert "[FAIL] work:" in out and f"- {signed[0].id}" in out and "1 failed" in out


def test_unapproved_drafts_are_stuck_only_after_the_approval_window(home: Pipe,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from esign.pipeline import send

    for batch in send.plan_batches(home.services, "run-waiting"):
        send.prepare_batch(home.services, batch)  # the director has not answered yet
    _older(home, hours=47)
    assert esign("status") == EXIT_OK, "two days waiting for the director is not stuck"
    _older(home, hours=26)
    assert esign("status") == EXIT_FAIL
    assert "aguarda a assinatura da empresa (antes, a aprovação)" in capsys.readouterr().out


def test_status_shows_crm_methods_paused_by_the_portal_in_portuguese(home: Pipe,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A worker's breaker pauses a method (the portal's time limit): another process's ``esign status`` shows
    which method, on which portal, until when and how long is left; a pause that is over is not shown."""
    from esign.crm.bitrix24 import Bitrix24Settings, WebhookUrl
    from esign.crm.method_pauses import MethodPauseStore
    from esign.pipeline.config import PipelineConfig
    from esign.pipeline.services import Services

    assert esign("status") == EXIT_OK
    assert "Métodos do CRM pausados" not in capsys.readouterr().out
    worker = Services(ws=home.ws, config=PipelineConfig(crm="bitrix24"), smtp=home.services.smtp,
                      crm_settings=Bitrix24Settings(WebhookUrl.parse("https://acme.bitrix24.com.br/rest/7/k3yc0de9x2/")))
    breaker = worker.crm.transport.breaker  # type: ignore[attr-defined]
    breaker.observe("crm.deal.update", {"operating": 612.5})
    breaker.trip("crm.deal.update", time.time() + 9 * 60 + 30)
    MethodPauseStore(home.ws.engine).record("acme.bitrix24.com.br", "crm.deal.list", time.time() - 5)  # over
    assert esign("status") == EXIT_OK  # a paused method is lag, not a stuck document
    out = capsys.readouterr().out
    assert "Métodos do CRM pausados pelo limite de tempo do portal (o trabalho que os usa aguarda):" in out
    line = next(x for x in out.splitlines() if "crm.deal.update" in x)
    assert line.startswith("  crm.deal.update em acme.bitrix24.com.br: até ") and "(UTC-03:00)" in line
    assert line.endswith("(faltam 10 minutos)")
    assert "crm.deal.list" not in out
    assert esign("status", "--json") == EXIT_OK
    (paused,) = json.loads(capsys.readouterr().out)["crm_paused_methods"]
    assert paused["method"] == "crm.deal.update" and paused["operating_s"] == 612.5
    assert paused["portal"] == "acme.bitrix24.com.br" and paused["minutes_left"] == 10


def _older(installed: Pipe, hours: int) -> None:
    """Every document's last move ``hours`` earlier: what the ledger looks like that much later."""
    with installed.ws.engine.begin() as conn:
        for doc_id, updated_at in conn.execute(select(documents.c.id, documents.c.updated_at)).all():
            conn.execute(documents.update().where(documents.c.id == doc_id)
                         .values(updated_at=updated_at - timedelta(hours=hours)))


def _serve(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    COVERED.add(argv[0])
    full = dict(os.environ, **env)
    return subprocess.Popen([sys.executable, "-m", "esign.cli", *argv], cwd=PROJECT_DIR, env=full,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _until(ready: object, proc: subprocess.Popen[bytes], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():  # type: ignore[operator]
                return
        except OSError:
            pass
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not come up in {timeout} s")
        time.sleep(0.2)


def test_portal_and_mailserver_serve(pipe: Pipe) -> None:  # noqa: F811
    env = _env(pipe)
    portal_port, smtp_port = _free_port(), _free_port()
    portal = _serve(["portal", "--port", str(portal_port)], env)
    mail = _serve(["mailserver", "--port", str(smtp_port)], env)
    try:
        def healthy() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{portal_port}/healthz", timeout=2) as answer:
                return bool(answer.status == 200)

        def greets() -> bool:
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=2) as smtp:
                return smtp.noop()[0] == 250

        _until(healthy, portal, "esign portal")
        _until(greets, mail, "esign mailserver")
    finally:
        for proc in (portal, mail):
            proc.terminate()
            proc.wait(30)


@pytest.mark.airflow
def test_run_a_dag_in_process(pipe: Pipe, tmp_path: Path) -> None:  # noqa: F811
    env = dict(os.environ, **_env(pipe), AIRFLOW_HOME=str(tmp_path / "airflow"))
    env = {k: v for k, v in env.items() if not k.startswith("AIRFLOW__")}
    COVERED.add("run")
    result = subprocess.run([sys.executable, "-m", "esign.cli", "run", "esign_collect"], cwd=PROJECT_DIR, env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == EXIT_OK, result.stdout[-3000:] + result.stderr[-3000:]


def _commands(parser: argparse.ArgumentParser, prefix: str = "") -> set[str]:
    found: set[str] = set()
    for action in parser._actions:  # argparse keeps its sub-commands here and nowhere public
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                inner = _commands(sub, f"{prefix}{name} ")
                found |= inner or {f"{prefix}{name}"}
    return found


def test_every_command_has_a_happy_path_here(request: pytest.FixtureRequest) -> None:
    """Runs last in this module (pytest keeps file order): the tests above filled ``COVERED``."""
    here = [i for i in request.session.items if i.path == request.path and i.name != request.node.name]
    if len(here) < len([n for n in globals() if n.startswith("test_")]) - 1:
        pytest.skip("needs the whole module: the other tests record which commands they ran")
    missing = _commands(build_parser()) - COVERED - set(ELSEWHERE)
    assert not missing, f"commands without a happy-path test: {sorted(missing)}"


def test_status_counts_write_backs_ended_by_a_deleted_deal(home: Pipe, capsys: pytest.CaptureFixture[str]) -> None:
    from esign.crm.local import LocalCrm
    from esign.pipeline import send

    planned = send.plan_batches(home.services, "run-gone")
    send.prepare_batch(home.services, planned[0])
    send.approve_run(home.services, "run-gone", "director")
    send.sign_batch(home.services, planned[0])
    send.dispatch_batch(home.services, planned[0])
    sent = home.ws.ledger.list_batch(str(planned[0]["batch_id"]), [Stage.SENT])
    assert LocalCrm(home.ws.engine).delete_deal(int(sent[0].deal_id))
    assert send.mark_awaiting(home.services, planned[0])["crm_gone"] == 1
    capsys.readouterr()
    esign("status")
    assert "Atualizações do CRM encerradas porque o negócio foi excluído no CRM: 1" in capsys.readouterr().out
    esign("status", "--json")
    assert json.loads(capsys.readouterr().out)["crm_gone"] == 1
