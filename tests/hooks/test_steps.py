"""DAG tasks reach the pipeline through run_step (imported when the task runs); workers may preload it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from esign.hooks.steps import run_step
from tests.pipeline.conftest import Pipe
from tests.support import PROJECT_DIR


def test_run_step_calls_the_pipeline_function_with_services(pipe: Pipe, monkeypatch: pytest.MonkeyPatch) -> None:
    import esign.hooks.airflow_services as airflow_services

    seen: list[object] = []
    monkeypatch.setattr(airflow_services, "services_from_context", lambda params: seen.append(params) or pipe.services)
    batches = run_step("send.plan_batches", {"batch_size": 5}, "run-s")
    assert seen == [{"batch_size": 5}] and sum(int(b["count"]) for b in batches) == 12


@pytest.mark.parametrize("step", ["render.render_document", "send", "", "send."])
def test_run_step_refuses_what_is_not_a_pipeline_step(step: str) -> None:
    with pytest.raises(ValueError, match="unknown pipeline step"):
        run_step(step, None)


def test_the_worker_preload_module_loads_the_pipeline() -> None:
    code = ("import sys; import esign.hooks.worker_preload; "
            "from airflow.sdk.execution_time.supervisor import WatchedSubprocess as W; "
            "print(all(m in sys.modules for m in ('esign.pipeline.send', 'esign.pipeline.collect', "
            "'esign.store.migrations', 'reportlab', 'pyhanko', 'alembic', 'airflow.executors.local_executor', "
            "'airflow.providers.standard.operators.hitl', 'airflow.dag_processing.dagbag')), "
            "getattr(W._service_subprocess, '_esign_prompt_exit', 0))")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    assert out.stdout.split()[-2:] == ["True", "True"]  # the pipeline, the worker's Airflow code, the exit wrap
