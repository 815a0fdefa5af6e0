"""esign_report imports cleanly, runs daily or on esign_collect's asset, and follows the house rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import PROJECT_DIR

pytestmark = pytest.mark.airflow

INSPECT = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(%r)
dag = bag.dags.get("esign_report")
print("JSON" + json.dumps({
    "errors": {k: v.splitlines()[-1] for k, v in bag.import_errors.items()},
    "found": dag is not None,
    "schedule": type(dag.timetable).__name__ if dag else None,
    "cron": dag.timetable.timetable.expression if dag else None,
    "assets": str(dag.timetable.asset_condition) if dag else None,
    "tags": sorted(dag.tags) if dag else [],
    "max_active_runs": dag.max_active_runs if dag else None,
    "tasks": {t.task_id: [t.owner, t.retries] for t in dag.tasks} if dag else {},
}))
"""


def test_report_dag_imports_and_is_scheduled_by_time_or_asset(tmp_path: Path) -> None:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}",
           "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"), "ESIGN_PROJECT_DIR": str(PROJECT_DIR)}
    code = INSPECT % str(PROJECT_DIR / "dags" / "esign_report.py")
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=PROJECT_DIR, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    info = json.loads(result.stdout.split("JSON", 1)[1])
    assert info["errors"] == {} and info["found"]
    assert info["schedule"] == "AssetOrTimeSchedule"
    assert info["cron"] == "0 6 * * *" and "esign://documents/completed" in info["assets"]
    assert {"esign", "report"} <= set(info["tags"]) and info["max_active_runs"] == 1
    assert info["tasks"] == {"signing_report": ["esign-ops", 2], "run_report": ["esign-ops", 2]}
