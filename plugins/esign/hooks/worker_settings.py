"""Airflow settings that keep the orchestrator's share of a bulk run small; the README and the compose file use them.

- ``[core] mp_start_method = forkserver`` and ``[core] mp_forkserver_preload = esign.hooks.worker_preload``: the
  LocalExecutor's workers, and the task processes they fork, start from a process that imported the pipeline once
  (otherwise every task instance imports reportlab, pyHanko, SQLAlchemy and Alembic again: ~2 s on two cores).
- ``[workers] min_heartbeat_interval = 1``: the task supervisor notices a finished task within a second instead of
  up to five, so the worker takes the next task sooner (one heartbeat call per running task per second).
- ``[dag_processor] min_file_process_interval = 120``: the DAG files are re-parsed every two minutes instead of
  every thirty seconds; they change with a deployment, not during a run.
"""

from __future__ import annotations

WORKER_SETTINGS: dict[str, str] = {
    "AIRFLOW__CORE__MP_START_METHOD": "forkserver",
    "AIRFLOW__CORE__MP_FORKSERVER_PRELOAD": "esign.hooks.worker_preload",
    "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "120",
}
