"""Run one DAG in-process with ``dag.test()`` (the embedded default: no scheduler, SQLite metadata).

Used by ``esign demo`` and ``esign run`` in a child process whose environment names the Airflow home,
the dags folder and the metadata database before Airflow is imported. Exit code 0 only when the run succeeded.

    python -m esign.hooks.dag_runner esign_send '{"auto_approve": true}'
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def ensure_metadata_db() -> None:
    """Create or upgrade Airflow's metadata database (fast when it is current)."""
    from airflow.utils.db import initdb

    initdb()


def run_dag(dag_id: str, conf: dict[str, object]) -> str:
    """Run the DAG once; its final state ("success", "failed")."""
    from airflow.configuration import conf as airflow_conf
    from airflow.dag_processing.dagbag import DagBag

    dags_folder = Path(airflow_conf.get("core", "dags_folder"))
    bag = DagBag(str(dags_folder))
    if bag.import_errors:
        details = "; ".join(f"{path}: {error.splitlines()[-1]}" for path, error in bag.import_errors.items())
        raise SystemExit(f"DAG import errors: {details}")
    dag = bag.get_dag(dag_id)
    if dag is None:
        raise SystemExit(f"no DAG {dag_id!r} in {dags_folder}")
    run = dag.test(run_conf=conf)
    return str(getattr(run.state, "value", run.state))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or len(args) > 2:
        print("usage: python -m esign.hooks.dag_runner DAG_ID [CONF_JSON]", file=sys.stderr)
        return 2
    conf = json.loads(args[1]) if len(args) == 2 else {}
    ensure_metadata_db()
    from esign.hooks.dag_defaults import ensure_crm_pool

    ensure_crm_pool()
    state = run_dag(args[0], conf)
    print(f"dag {args[0]}: {state}")
    return 0 if state == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
