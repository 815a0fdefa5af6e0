"""Airflow runs in child processes, each with its own AIRFLOW_HOME: Airflow reads its settings at import."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import PROJECT_DIR


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "ESIGN_PROJECT_DIR": str(PROJECT_DIR),
    })
    env.update(extra)
    return env


def run_python(code: str, env: dict[str, str], timeout: int = 300) -> str:
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            timeout=timeout, check=False, cwd=PROJECT_DIR)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def run_dag(dag_id: str, conf: dict[str, object], env: dict[str, str], log: Path, *, succeeds: bool = True) -> None:
    """``dag.test()`` in a child process; its log goes to ``log`` (shown when the run ends otherwise than expected)."""
    with log.open("w") as out:
        result = subprocess.run([sys.executable, "-m", "esign.hooks.dag_runner", dag_id, json.dumps(conf)],
                                env=env, stdout=out, stderr=subprocess.STDOUT, timeout=600, check=False,
                                cwd=PROJECT_DIR)
    assert result.returncode == (0 if succeeds else 1), log.read_text()[-5000:]


def asset_events(home: Path, uri: str) -> list[dict[str, object]]:
    """The extras of the events Airflow recorded for the Asset ``uri``, oldest first (its metadata database)."""
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute("SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.uri = ? "
                          "ORDER BY e.id", (uri,)).fetchall()
    return [json.loads(extra) if isinstance(extra, str) else extra for (extra,) in rows]


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One metadata database for the session, created once (about 8 s)."""
    home = tmp_path_factory.mktemp("airflow")
    run_python("from airflow.utils.db import initdb; initdb()", airflow_env(home))
    return home
