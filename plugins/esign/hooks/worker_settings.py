"""Airflow settings that keep the orchestrator's share of a bulk run small; the README and the compose file use them.

- ``[core] mp_start_method = forkserver`` and ``[core] mp_forkserver_preload = esign.hooks.worker_preload``: the
  LocalExecutor's workers, and the task processes they fork, start from a process that imported the pipeline once
  (otherwise every task instance imports reportlab, pyHanko, SQLAlchemy and Alembic again: ~2 s on two cores).
  The preload also makes the task supervisor notice a finished task at once (``esign.hooks.supervisor_exit``), so
  ``[workers] min_heartbeat_interval`` stays at Airflow's 5 s (one heartbeat call per running task every 5 s; at
  1 s, the earlier way to hide that delay, the api-server answered five times as many).
- ``[dag_processor] min_file_process_interval = 600``: an unchanged DAG file is re-parsed every ten minutes instead
  of every thirty seconds (each parse forks a process: ~0.5 CPU s); a file whose modification time is newer than
  its last parse is still parsed at once (Airflow's default ``file_parsing_sort_mode = modified_time``).
"""

from __future__ import annotations

WORKER_SETTINGS: dict[str, str] = {
    "AIRFLOW__CORE__MP_START_METHOD": "forkserver",
    "AIRFLOW__CORE__MP_FORKSERVER_PRELOAD": "esign.hooks.worker_preload",
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
}

#: For Celery workers (which do not start from the forkserver): the supervisor's prompt exit detection.
CELERY_SETTINGS: dict[str, str] = {
    "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "esign.hooks.celery_config.CELERY_CONFIG",
}
