"""Every DAG imports without errors and carries tags, an owner and retries on every task."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.dags.conftest import airflow_env, run_python

pytestmark = pytest.mark.airflow

INSPECT = """
import json
from airflow.dag_processing.dagbag import DagBag
from airflow.configuration import conf
from airflow.sdk import BranchMixIn
bag = DagBag(conf.get("core", "dags_folder"))
out = {"errors": {k: v.splitlines()[-1] for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in bag.dags.items():
    out["dags"][dag_id] = {
        "tags": sorted(dag.tags), "max_active_runs": dag.max_active_runs,
        "schedule": repr(dag.schedule), "params": sorted(dag.params.keys()),
        "enums": {k: dag.params.get_param(k).schema.get("enum") for k in ("channel", "crm") if k in dag.params},
        "tasks": {t.task_id: {"owner": t.owner, "retries": t.retries, "type": type(t).__name__,
                              "failure_callback": bool(t.on_failure_callback), "branch": isinstance(t, BranchMixIn),
                              "outlets": [f"{type(o).__name__}:{getattr(o, 'uri', o.name)}" for o in t.outlets],
                              "pool": t.pool,
                              "upstream": sorted(t.upstream_task_ids)} for t in dag.tasks},
    }
import sys
out["heavy"] = sorted(m for m in ("reportlab", "pyhanko", "alembic", "pandas", "papermill", "esign.pipeline.send",
                                 "esign.render", "esign.reporting") if m in sys.modules)
print("JSON" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def info(airflow_home: Path) -> dict[str, Any]:
    """What the DagBag says about every DAG, read once in a child process."""
    out = run_python(INSPECT, airflow_env(airflow_home))
    data: dict[str, Any] = json.loads(out.split("JSON", 1)[1])
    return data


def test_dags_import_and_follow_the_house_rules(info: dict[str, Any]) -> None:
    assert info["errors"] == {}
    assert {"esign_send", "esign_collect"} <= set(info["dags"])
    for dag_id, dag in info["dags"].items():
        assert "esign" in dag["tags"], dag_id
        assert dag["max_active_runs"] == 1, dag_id
        for task_id, task in dag["tasks"].items():
            assert task["failure_callback"], (dag_id, task_id)
            assert task["owner"] == "esign-ops", (dag_id, task_id)
            if task["type"] != "ApprovalOperator":
                assert task["retries"] >= 1, (dag_id, task_id)


def test_parsing_the_dag_files_does_not_load_the_pipeline(info: dict[str, Any]) -> None:
    """Airflow parses DAG files far more often than it runs tasks: the pipeline is imported when a task runs."""
    assert info["heavy"] == [], info["heavy"]


def test_collect_dag_is_three_steps(info: dict[str, Any]) -> None:
    tasks = info["dags"]["esign_collect"]["tasks"]
    assert {k: v["upstream"] for k, v in tasks.items()} == {"start": [], "finalize": ["start"],
                                                           "wrap_up": ["finalize"]}


def test_send_dag_waits_for_an_approval_before_signing(info: dict[str, Any]) -> None:
    send = info["dags"]["esign_send"]
    tasks = send["tasks"]
    assert tasks["director_approval"]["type"] == "ApprovalOperator"
    assert tasks["director_approval"]["upstream"] == ["summarize"]
    assert tasks["summarize"]["branch"]
    assert set(tasks["record_approval"]["upstream"]) == {"summarize", "director_approval"}
    assert tasks["deliver"]["upstream"] == ["plan", "record_approval"]
    assert {"template", "max_deals", "batch_size", "channel", "dry_run", "auto_approve",
            "attach", "signing_order"} <= set(send["params"])
    assert "*/10" in info["dags"]["esign_collect"]["schedule"]


def test_the_channel_and_crm_params_offer_what_the_registries_hold(info: dict[str, Any]) -> None:
    from esign.crm.registry import crm_names
    from esign.dispatch.registry import preferences

    assert info["dags"]["esign_send"]["enums"] == {"channel": [None, *preferences()], "crm": [None, *crm_names()]}
    assert preferences() == ("auto", "email", "sms") and crm_names() == ("local", "bitrix24")


def test_only_a_collect_run_that_completed_documents_may_start_a_report(info: dict[str, Any]) -> None:
    """The one outlet is an alias on esign_collect's last task: it adds the asset event only when documents
    completed (tests/dags/test_end_to_end.py shows both cases); esign_report consumes it."""
    outlets = {(dag_id, task_id): task["outlets"] for dag_id, dag in info["dags"].items()
               for task_id, task in dag["tasks"].items() if task["outlets"]}
    assert outlets == {("esign_collect", "wrap_up"): ["AssetAlias:esign_documents_completed_events"]}
    assert "esign://documents/completed" in info["dags"]["esign_report"]["schedule"]


def test_the_tasks_that_call_the_crm_share_one_pool(info: dict[str, Any]) -> None:
    """Every task that reads or writes the CRM runs in the pool ``esign_crm`` (created by setup), across runs."""
    pools = {(dag_id, task_id): task["pool"] for dag_id in ("esign_send", "esign_collect")
             for task_id, task in info["dags"][dag_id]["tasks"].items()}
    assert {key for key, pool in pools.items() if pool == "esign_crm"} == {
        ("esign_send", "plan"), ("esign_send", "prepare"), ("esign_send", "deliver"),
        ("esign_collect", "finalize"), ("esign_collect", "wrap_up")}
    assert pools[("esign_send", "director_approval")] != "esign_crm"  # a wait for a person holds no CRM slot
