"""The DAGs' failure notifier emails ops when ESIGN_OPS_EMAIL is set, and never raises."""

from __future__ import annotations

from pathlib import Path

from esign.dispatch.mailserver import LocalMailServer, read_messages
from tests.dags.conftest import airflow_env, run_python

CALL = """
from types import SimpleNamespace
from esign.hooks.dag_defaults import notify_failure
ti = SimpleNamespace(dag_id="esign_send", task_id="deliver", try_number=4)
notify_failure({"ti": ti, "run_id": "manual__1", "exception": RuntimeError("SMTP relay refused")})
print("returned")
"""


def test_failure_notice_reaches_ops(tmp_path: Path, airflow_home: Path) -> None:
    with LocalMailServer(tmp_path / "mail") as mail:
        env = airflow_env(airflow_home, ESIGN_OPS_EMAIL="ops@aurora.example", ESIGN_SMTP_HOST="127.0.0.1",
                          ESIGN_SMTP_PORT=str(mail.port))
        assert "returned" in run_python(CALL, env)
    [message] = read_messages(tmp_path / "mail")
    assert message.header("To") == "ops@aurora.example"
    assert "esign_send.deliver" in message.header("Subject")
    assert "SMTP relay refused" in message.text and "manual__1" in message.text


def test_a_broken_notification_does_not_raise(tmp_path: Path, airflow_home: Path) -> None:
    env = airflow_env(airflow_home, ESIGN_OPS_EMAIL="ops@aurora.example", ESIGN_SMTP_HOST="127.0.0.1",
                      ESIGN_SMTP_PORT="9")  # nothing listens there
    assert "returned" in run_python(CALL, env)
