"""A configuration error fails its task at once through Airflow (no retries) and the notice tells ops why."""

from __future__ import annotations

from pathlib import Path

import pytest

from esign.dispatch.mailserver import LocalMailServer, read_messages
from tests.dags.conftest import airflow_env, run_dag

pytestmark = pytest.mark.airflow


def test_a_configuration_error_fails_the_task_on_its_first_try(tmp_path: Path, airflow_home: Path) -> None:
    with LocalMailServer(tmp_path / "mail") as mail:
        env = airflow_env(airflow_home, ESIGN_HOME=str(tmp_path / "var"), ESIGN_TSA_URL="ftp://tsa.example.com/",
                          ESIGN_OPS_EMAIL="ops@aurora.example", ESIGN_SMTP_HOST="127.0.0.1",
                          ESIGN_SMTP_PORT=str(mail.port))
        run_dag("esign_collect", {}, env, tmp_path / "collect.log", succeeds=False)
    [notice] = read_messages(tmp_path / "mail")  # the task's retries (3, from 20 s on) would each have waited
    assert notice.header("Subject") == "[esign] tarefa falhou: esign_collect.start"
    assert "tentativa 1: AirflowFailException" in notice.html
    assert "ConfigError: ESIGN_TSA_URL: must start with http" in notice.html
