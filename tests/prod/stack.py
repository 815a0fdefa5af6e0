"""A real Airflow stack in subprocesses, shared by ``make test-prod`` and ``bench/airflow_overhead.py``.

:class:`Stack` starts each process (api-server, scheduler, dag-processor, a worker...) in its own process group
with its log in one folder, and stops every group at the end. :func:`airflow_env` is the configuration both
shapes share (metadata database, executor, parallelism, the execution API, SimpleAuthManager with everyone an
admin, secrets generated for this run); :class:`Api` is the REST API with a JWT from ``/auth/token``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent


class StackError(RuntimeError):
    """A process of the stack failed or exited, or the API refused a call; the message has the logs' tails."""


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


def airflow_env(*, home: Path, port: int, metadata_url: str, executor: str, parallelism: int,
                smtp_port: int) -> dict[str, str]:
    """Airflow's settings for one stack: its home, this project's DAGs, the metadata database, the executor,
    the api-server on ``port`` (tasks reach the execution API there), new random secrets, ``smtp_default``."""
    smtp = {"conn_type": "smtp", "host": "127.0.0.1", "port": smtp_port,
            "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "no-reply@esign.local"}}
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_DIR / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__EXECUTOR": executor,
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__FERNET_KEY": "",
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": metadata_url,  # psycopg 3 is async too (no asyncpg)
        "AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(smtp),
    }


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

    def start_airflow(self, port: int) -> None:
        """The api-server (on ``port``), the scheduler and the dag-processor."""
        self.start("api-server", str(BIN / "airflow"), "api-server", "--port", str(port))
        self.start("scheduler", str(BIN / "airflow"), "scheduler")
        self.start("dag-processor", str(BIN / "airflow"), "dag-processor")

    def run(self, name: str, *args: str, timeout: float = 300) -> None:
        with (self.logs / f"{name}.log").open("wb") as log:
            result = subprocess.run(list(args), env=self.env, cwd=PROJECT_DIR, stdout=log, stderr=subprocess.STDOUT,
                                    timeout=timeout, check=False, start_new_session=True)
        if result.returncode != 0:
            raise StackError(f"{name} exited with {result.returncode}\n{self.report()}")

    def alive(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        if dead:
            raise StackError(f"processes exited: {dead}\n{self.report()}")

    def stop(self) -> None:
        """SIGTERM to every process group, then SIGKILL to what is left after 30 s."""
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGKILL)  # the group: task processes a worker forked, too
            if proc.poll() is None:
                proc.wait(timeout=10)

    def report(self) -> str:
        return "\n".join(f"===== {log.name} (last 6000 characters)\n{log.read_text(errors='replace')[-6000:]}"
                         for log in sorted(self.logs.glob("*.log")))


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


class Api:
    """The Airflow REST API with a JWT from /auth/token (SimpleAuthManager, all admins)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.client = httpx.Client(base_url=stack.api, timeout=30)

    def _check(self, answer: httpx.Response, *ok: int) -> httpx.Response:
        if answer.status_code not in (ok or (200,)):
            raise StackError(f"{answer.request.method} {answer.request.url.path}: {answer.status_code} {answer.text}")
        return answer

    def healthy(self) -> bool:
        self.stack.alive()
        try:
            health = self.client.get("/api/v2/monitor/health")
        except httpx.HTTPError:
            return False
        return health.status_code == 200 and health.json()["scheduler"]["status"] == "healthy"

    def login(self) -> None:
        answer = self._check(self.client.get("/auth/token"), 200, 201)
        self.client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def dag_known(self, dag_id: str) -> bool:
        self.stack.alive()
        return self.client.get(f"/api/v2/dags/{dag_id}").status_code == 200

    def unpause(self, dag_id: str) -> None:
        self._check(self.client.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": False}))

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        answer = self._check(self.client.post(f"/api/v2/dags/{dag_id}/dagRuns",
                                              json={"logical_date": None, "conf": conf}))
        return str(answer.json()["dag_run_id"])

    def finished(self, dag_id: str, run_id: str) -> str | None:
        self.stack.alive()
        state = self.client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json()["state"]
        return state if state in ("success", "failed") else None

    def failed_tasks(self, dag_id: str, run_id: str) -> list[str]:
        tis = self.client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()["task_instances"]
        return [f"{t['task_id']}[{t['map_index']}]: {t['state']}" for t in tis if t["state"] != "success"]

    def run_dag(self, dag_id: str, conf: dict[str, Any], timeout: float, interval: float = 2) -> str:
        """Trigger ``dag_id`` and wait for the run to end; its run ID. StackError unless it succeeded."""
        run_id = self.trigger(dag_id, conf)
        state = wait_for(lambda: self.finished(dag_id, run_id), timeout, f"{dag_id} run {run_id}", interval)
        if state != "success":
            raise StackError(f"{dag_id}: {state}; {self.failed_tasks(dag_id, run_id)}\n{self.stack.report()}")
        return run_id
