"""DAG tasks call pipeline functions through run_step: services from this run's params, fatal errors fail fast."""

from __future__ import annotations

import subprocess
import sys

import pytest
from airflow.sdk.exceptions import AirflowFailException

from esign.errors import ConfigError, KeysError, UnfinishedWorkError
from esign.hooks.steps import failing_fast, run_step
from esign.pipeline.send import plan_batches
from esign.pipeline.services import Services
from tests.pipeline.conftest import Pipe
from tests.support import PROJECT_DIR


def test_run_step_calls_the_pipeline_function_with_services(pipe: Pipe, monkeypatch: pytest.MonkeyPatch) -> None:
    import esign.hooks.airflow_services as airflow_services

    seen: list[object] = []
    monkeypatch.setattr(airflow_services, "services_from_context", lambda params: seen.append(params) or pipe.services)
    batches = run_step(plan_batches, {"batch_size": 5}, "run-s")
    assert seen == [{"batch_size": 5}] and sum(int(b["count"]) for b in batches) == 12


@pytest.mark.parametrize("error", [ConfigError("ESIGN_LINK_SECRET: not set"), KeysError("director.p12: expired")])
def test_configuration_and_key_errors_fail_the_task_without_retries(pipe: Pipe, monkeypatch: pytest.MonkeyPatch,
                                                                     error: Exception) -> None:
    import esign.hooks.airflow_services as airflow_services

    monkeypatch.setattr(airflow_services, "services_from_context", lambda params: pipe.services)

    def step(services: Services) -> None:
        raise error

    with pytest.raises(AirflowFailException, match=f"{type(error).__name__}: {error}") as caught:
        run_step(step, None)
    assert caught.value.__cause__ is error


def test_a_bad_setting_found_while_building_the_services_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_ESIGN_TSA", raising=False)
    monkeypatch.setenv("ESIGN_TSA_URL", "ftp://tsa.example.com/")
    with pytest.raises(AirflowFailException, match="ConfigError: ESIGN_TSA_URL: must start with http"):
        run_step(plan_batches, None, "run-x")


def test_other_errors_are_left_to_airflows_retries() -> None:
    with pytest.raises(UnfinishedWorkError), failing_fast():
        raise UnfinishedWorkError("collect: 2 message(s) still pending")


@pytest.mark.airflow
def test_the_worker_preload_module_loads_the_pipeline() -> None:
    code = ("import sys; import esign.hooks.worker_preload; "
            "from airflow.sdk.execution_time.supervisor import WatchedSubprocess as W; "
            "print(all(m in sys.modules for m in ('esign.pipeline.send', 'esign.pipeline.collect', "
            "'esign.store.migrations', 'reportlab', 'pyhanko', 'alembic', 'airflow.executors.local_executor', "
            "'airflow.providers.standard.operators.hitl', 'airflow.dag_processing.dagbag', "
            "'airflow.providers.smtp.notifications.smtp')), "
            "getattr(W._service_subprocess, '_esign_prompt_exit', 0))")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    assert out.stdout.split()[-2:] == ["True", "True"]  # the pipeline, the worker's Airflow code, the exit wrap
