"""The production shape without Docker (``make test-prod``): Airflow's api-server, scheduler, dag-processor and a
Celery worker (CeleryExecutor, Redis broker, PostgreSQL metadata and result backend), the ledger on PostgreSQL,
a local SMTP server and the seeded embedded CRM. ``esign_send`` and ``esign_collect`` are triggered through the
REST API; clients sign and decline in between; the ledger must end with the expected stages.

Runs only with ESIGN_TEST_PROD=1 (it takes minutes). Every process is started in its own process group and
stopped at the end, also on failure; their logs are under the test's tmp dir and printed when it fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from esign.config import Settings
from esign.dispatch.mailserver import LocalMailServer
from esign.store import Ledger, make_engine
from tests.prod.postgres import throwaway_database
from tests.support import PROJECT_DIR, TEST_PASSPHRASE

pytestmark = [pytest.mark.postgres, pytest.mark.airflow,
              pytest.mark.skipif(os.environ.get("ESIGN_TEST_PROD") != "1", reason="run with `make test-prod`")]

DEALS = 10
LINK_SECRET = "prod-run-tests-link-secret-0123456789abcd"
REDIS_URL = os.environ.get("ESIGN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BIN = Path(sys.executable).parent


def wait_for(condition: Callable[[], Any], timeout: float, what: str, interval: float = 1.0) -> Any:
    """Poll ``condition`` until it returns something truthy; TimeoutError naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    from esign.demo.servers import free_port as pick

    return pick()


@dataclass
class Stack:
    """The processes of one run, their logs, and how to reach the API."""

    env: dict[str, str]
    logs: Path
    api: str
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, *args: str) -> None:
        log = (self.logs / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(list(args), env=self.env, cwd=PROJECT_DIR, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def run(self, name: str, *args: str, timeout: float = 300) -> None:
        with (self.logs / f"{name}.log").open("wb") as log:
            result = subprocess.run(list(args), env=self.env, cwd=PROJECT_DIR, stdout=log, stderr=subprocess.STDOUT,
                                    timeout=timeout, check=False, start_new_session=True)
        assert result.returncode == 0, self.report()

    def alive(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        assert not dead, f"processes exited: {dead}\n{self.report()}"

    def stop(self) -> None:
        """SIGTERM to every process group, then SIGKILL to what is left after 30 s."""
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGKILL)  # the group: task runners the worker forked, too
            if proc.poll() is None:
                proc.wait(timeout=10)

    def report(self) -> str:
        return "\n".join(f"===== {log.name} (last 6000 characters)\n{log.read_text(errors='replace')[-6000:]}"
                         for log in sorted(self.logs.glob("*.log")))


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def _redis_up() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")


@pytest.fixture
def stack(tmp_path: Path, core_settings: Settings) -> Iterator[tuple[Stack, str, LocalMailServer]]:
    _redis_up()
    home = tmp_path / "esign"
    shutil.copytree(core_settings.keys_dir, home / "keys")
    logs = tmp_path / "logs"
    logs.mkdir()
    with throwaway_database("esign_prod_af") as airflow_url, throwaway_database("esign_prod_ledger") as ledger_url, \
            LocalMailServer(home / "mail") as mail:
        port = free_port()
        queue = f"esign-test-{secrets.token_hex(4)}"  # this run's tasks only, on a Redis others may share
        smtp = {"conn_type": "smtp", "host": "127.0.0.1", "port": mail.port,
                "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "no-reply@esign.local"}}
        env = dict(os.environ)
        env.update({
            "AIRFLOW_HOME": str(tmp_path / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_DIR / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__FERNET_KEY": "",
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": airflow_url,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": airflow_url,  # psycopg 3 is async too (no asyncpg)
            "AIRFLOW__CELERY__BROKER_URL": REDIS_URL,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{airflow_url}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
            "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            "AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(smtp),
            "ESIGN_PROJECT_DIR": str(PROJECT_DIR),
            "ESIGN_HOME": str(home),
            "ESIGN_DATABASE_URL": ledger_url,
            "ESIGN_KEY_PASSPHRASE": TEST_PASSPHRASE.decode(),
            "ESIGN_LINK_SECRET": LINK_SECRET,
            "ESIGN_PUBLIC_URL": "http://127.0.0.1:9",
            "ESIGN_SMTP_HOST": "127.0.0.1",
            "ESIGN_SMTP_PORT": str(mail.port),
        })
        env.pop("ESIGN_KEY_PASSPHRASE_FILE", None)
        env.pop("ESIGN_LINK_SECRET_FILE", None)
        stack = Stack(env=env, logs=logs, api=f"http://127.0.0.1:{port}")
        try:
            stack.run("airflow-db-migrate", str(BIN / "airflow"), "db", "migrate")
            stack.run("esign-db-upgrade", str(BIN / "esign"), "db", "upgrade")
            stack.run("esign-crm-seed", str(BIN / "esign"), "crm", "seed", "--deals", str(DEALS))
            stack.start("api-server", str(BIN / "airflow"), "api-server", "--port", str(port))
            stack.start("scheduler", str(BIN / "airflow"), "scheduler")
            stack.start("dag-processor", str(BIN / "airflow"), "dag-processor")
            stack.start("celery-worker", str(BIN / "airflow"), "celery", "worker", "--queues", queue,
                        "--concurrency", "2")
            yield stack, ledger_url, mail
        except BaseException:
            print(stack.report())
            raise
        finally:
            stack.stop()


class Api:
    """The Airflow REST API with a JWT from /auth/token (SimpleAuthManager, all admins)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.client = httpx.Client(base_url=stack.api, timeout=30)

    def healthy(self) -> bool:
        self.stack.alive()
        try:
            health = self.client.get("/api/v2/monitor/health")
        except httpx.HTTPError:
            return False
        return health.status_code == 200 and health.json()["scheduler"]["status"] == "healthy"

    def login(self) -> None:
        answer = self.client.get("/auth/token")
        assert answer.status_code in (200, 201), answer.text
        self.client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def dag_known(self, dag_id: str) -> bool:
        self.stack.alive()
        return self.client.get(f"/api/v2/dags/{dag_id}").status_code == 200

    def unpause(self, dag_id: str) -> None:
        answer = self.client.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": False})
        assert answer.status_code == 200, answer.text

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        answer = self.client.post(f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})
        assert answer.status_code == 200, answer.text
        return str(answer.json()["dag_run_id"])

    def finished(self, dag_id: str, run_id: str) -> str | None:
        self.stack.alive()
        state = self.client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json()["state"]
        return state if state in ("success", "failed") else None

    def failed_tasks(self, dag_id: str, run_id: str) -> list[str]:
        tis = self.client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()["task_instances"]
        return [f"{t['task_id']}[{t['map_index']}]: {t['state']}" for t in tis if t["state"] != "success"]


def run_dag(api: Api, dag_id: str, conf: dict[str, Any], timeout: float) -> None:
    run_id = api.trigger(dag_id, conf)
    state = wait_for(lambda: api.finished(dag_id, run_id), timeout, f"{dag_id} run {run_id}", interval=2)
    assert state == "success", f"{dag_id}: {state}; {api.failed_tasks(dag_id, run_id)}\n{api.stack.report()}"


def test_send_and_collect_through_airflow_with_celery(stack: tuple[Stack, str, LocalMailServer]) -> None:
    from esign.dispatch.mailserver import read_messages
    from esign.model import Stage
    from esign.requests.service import SigningRequests
    from tests.support import CodeRecorder

    proc_stack, ledger_url, _mail = stack
    api = Api(proc_stack)
    wait_for(api.healthy, 180, "the api-server and a healthy scheduler", interval=2)
    api.login()
    for dag_id in ("esign_send", "esign_collect"):
        wait_for(lambda d=dag_id: api.dag_known(d), 180, f"the dag-processor to register {dag_id}", interval=2)
    api.unpause("esign_send")
    run_dag(api, "esign_send", {"auto_approve": True}, timeout=420)

    engine = make_engine(ledger_url)
    try:
        ledger = Ledger(engine)
        counts = ledger.stage_counts()
        sent = ledger.list_by_stage(Stage.SENT)
        assert counts.get("sent", 0) == len(sent) >= DEALS - 5 and set(counts) <= {"sent", "quarantined"}, counts
        invitations = read_messages(Path(proc_stack.env["ESIGN_HOME"]) / "mail")
        assert 0 < len(invitations) <= len(sent)  # email invitations (the rest went by SMS), none twice
        assert len({m.message["Message-ID"] for m in invitations}) == len(invitations)

        requests = SigningRequests(engine, ledger, LINK_SECRET.encode())
        signers, decliner = sent[:3], sent[3]
        for record in [*signers, decliner]:
            request = requests.for_document(record.id)
            assert request is not None
            recorder = CodeRecorder()
            requests.issue_code(request, recorder, "198.51.100.4", "pytest")
            requests.check_code(request, recorder.last_code, "198.51.100.4", "pytest")
            if record is decliner:
                requests.decline(request, "Preço errado", "198.51.100.4", "pytest")
            else:
                requests.sign(request, "Cliente Teste", None, True, "198.51.100.4", "pytest")

        api.unpause("esign_collect")
        run_dag(api, "esign_collect", {}, timeout=420)
        stages = {r.id: ledger.get(r.id).stage for r in sent}
        assert [stages[r.id] for r in signers] == [Stage.COMPLETED] * 3, stages
        assert stages[decliner.id] is Stage.DECLINED
        assert all(stages[r.id] is Stage.SENT for r in sent[4:])
        for record in sent:
            assert ledger.derived_stage(record.id) is stages[record.id]
        for record in signers:
            assert ledger.version(record.id, "final") is not None
    finally:
        engine.dispose()
