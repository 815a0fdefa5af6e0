"""The DAGs' failure notifier: Airflow's SmtpNotifier emails ops (ESIGN_OPS_EMAIL) through ``smtp_default``, or the
ESIGN_SMTP_* relay without that Connection, in the company's language; it never raises."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from esign.dispatch.mailserver import LocalMailServer, ReceivedMessage, read_messages
from esign.hooks.dag_defaults import default_args
from esign.hooks.notifier import FailureNotifier
from tests.support import PROJECT_DIR


def _fail(exception: BaseException | None = None) -> None:
    """What Airflow does when a task fails for good: call the task's on_failure_callback with the context."""
    notifier = default_args()["on_failure_callback"]
    assert isinstance(notifier, FailureNotifier) and notifier.smtp_conn_id == "smtp_default"
    ti = SimpleNamespace(dag_id="esign_send", task_id="deliver", try_number=4)
    notifier({"ti": ti, "run_id": "manual__1", "exception": exception or RuntimeError("SMTP relay refused")})


def _only_message(maildir: Path) -> ReceivedMessage:
    [message] = read_messages(maildir)
    return message


@pytest.fixture
def ops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIGN_OPS_EMAIL", "ops@aurora.example")
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)


def test_the_notice_goes_through_the_smtp_default_connection(tmp_path: Path, ops: None,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIGN_SMTP_PORT", "9")  # the Connection wins over the variables
    with LocalMailServer(tmp_path / "mail") as mail:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps({
            "conn_type": "smtp", "host": "127.0.0.1", "port": mail.port,
            "extra": {"from_email": "esign@aurora.example", "disable_ssl": True, "disable_tls": True}}))
        _fail()
    message = _only_message(tmp_path / "mail")
    assert message.header("To") == "ops@aurora.example" and message.header("From") == "esign@aurora.example"
    assert message.header("Subject") == "[esign] tarefa falhou: esign_send.deliver"
    error = "RuntimeError(&#x27;SMTP relay refused&#x27;)"  # escaped in the HTML body
    assert f"esign_send.deliver falhou na execução manual__1, tentativa 4: {error}" in message.html
    assert "Veja o log da tarefa no Airflow" in message.html


def test_without_the_connection_the_esign_smtp_relay_carries_it(tmp_path: Path, ops: None,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    with LocalMailServer(tmp_path / "mail") as mail:
        monkeypatch.setenv("ESIGN_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("ESIGN_SMTP_PORT", str(mail.port))
        monkeypatch.setenv("ESIGN_SMTP_FROM", "robot@aurora.example")
        _fail()
    message = _only_message(tmp_path / "mail")
    assert message.header("From") == "robot@aurora.example" and "manual__1" in message.html


def test_the_notice_is_in_the_companys_language(tmp_path: Path, ops: None, monkeypatch: pytest.MonkeyPatch) -> None:
    company = tmp_path / "company.yaml"
    original = (PROJECT_DIR / "config" / "company.yaml").read_text()
    company.write_text(original.replace('language: "pt_BR"', 'language: "es"'))
    monkeypatch.setenv("ESIGN_COMPANY_FILE", str(company))
    with LocalMailServer(tmp_path / "mail") as mail:
        monkeypatch.setenv("ESIGN_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("ESIGN_SMTP_PORT", str(mail.port))
        _fail()
    assert _only_message(tmp_path / "mail").header("Subject") == "[esign] tarea fallida: esign_send.deliver"


def test_a_broken_relay_does_not_raise(ops: None, monkeypatch: pytest.MonkeyPatch,
                                       caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("ESIGN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ESIGN_SMTP_PORT", "9")  # nothing listens there
    _fail()
    assert "could not email the failure notice" in caplog.text


def test_without_ops_email_the_failure_is_only_logged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("ESIGN_OPS_EMAIL", raising=False)
    with LocalMailServer(tmp_path / "mail") as mail:
        monkeypatch.setenv("ESIGN_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("ESIGN_SMTP_PORT", str(mail.port))
        _fail(ValueError("bad batch"))
    assert read_messages(tmp_path / "mail") == []
    assert "esign task failed: esign_send.deliver run manual__1 try 4: ValueError('bad batch')" in caplog.text


def test_one_notifier_serves_failure_after_failure(tmp_path: Path, ops: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Default args share one notifier between tasks: a second failure's notice carries only its own text, even
    after an error message that looks like a template."""
    with LocalMailServer(tmp_path / "mail") as mail:
        monkeypatch.setenv("ESIGN_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("ESIGN_SMTP_PORT", str(mail.port))
        notifier = default_args()["on_failure_callback"]
        for task_id, error in (("plan", "bad {{ template }} {% here"), ("deliver", "relay down")):
            ti = SimpleNamespace(dag_id="esign_send", task_id=task_id, try_number=1)
            notifier({"ti": ti, "run_id": "manual__2", "exception": RuntimeError(error)})
    first, second = sorted(read_messages(tmp_path / "mail"), key=lambda m: m.header("Subject"))
    assert "{{ template }} {% here" in second.html and second.header("Subject").endswith("esign_send.plan")
    assert "relay down" in first.html and "template" not in first.html
