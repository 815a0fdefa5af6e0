"""Run a pipeline step from a DAG task: build the services from Airflow's settings, turn fatal domain errors into
task failures without retries.

The DAG files import each step inside the task body (``from esign.pipeline.send import plan_batches``), so that
parsing a DAG file needs only Airflow: the dag-processor parses far more often than tasks run, and reportlab,
pyHanko and SQLAlchemy would cost each parse. A worker that preloads :mod:`esign.hooks.worker_preload` already
has the pipeline when a task starts. This module itself imports neither the pipeline nor its services at the top.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from airflow.sdk.exceptions import AirflowFailException

from esign.errors import ConfigError, KeysError

if TYPE_CHECKING:
    from esign.pipeline.services import Services

P = ParamSpec("P")
R = TypeVar("R")

#: Domain errors no retry can fix: a setting is missing or wrong, the keys cannot be loaded (passphrase, expiry).
#: Everything else (the relay down, the CRM refusing, work still owed) is retried with backoff.
FATAL_ERRORS: tuple[type[Exception], ...] = (ConfigError, KeysError)


@contextmanager
def failing_fast() -> Iterator[None]:
    """Raise :data:`FATAL_ERRORS` as ``AirflowFailException``: the task fails at once (the failure notice says
    why) instead of repeating the same error through its retries."""
    try:
        yield
    except FATAL_ERRORS as exc:
        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc


def run_step(step: Callable[Concatenate[Services, P], R], params: Mapping[str, Any] | None,
             *args: P.args, **kwargs: P.kwargs) -> R:
    """``step(services, *args, **kwargs)`` with the services of this run's params (``None``: configured values)."""
    with failing_fast():
        from esign.hooks.airflow_services import services_from_context

        return step(services_from_context(params), *args, **kwargs)
