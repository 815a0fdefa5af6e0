"""Run a pipeline step from a DAG task, importing the pipeline only when the task runs.

Why: Airflow parses a DAG file far more often than it runs its tasks (the dag-processor every
``min_file_process_interval``, and every task process before it starts). A DAG file that imports the pipeline at
the top pays for reportlab, pyHanko and SQLAlchemy on each parse; with this, parsing needs only Airflow, and a
worker that preloads :mod:`esign.hooks.worker_preload` already has the pipeline when a task starts.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

#: The modules of ``esign.pipeline`` a DAG may name, so a typo fails at once with the choices.
MODULES = ("send", "collect")


def run_step(step: str, params: Mapping[str, Any] | None, *args: Any) -> Any:
    """Call ``esign.pipeline.<module>.<function>(services, *args)``; ``step`` is ``"<module>.<function>"``."""
    module_name, _, function = step.partition(".")
    if module_name not in MODULES or not function:
        raise ValueError(f"unknown pipeline step {step!r}: expected <{'|'.join(MODULES)}>.<function>")
    from esign.hooks.airflow_services import services_from_context

    module = importlib.import_module(f"esign.pipeline.{module_name}")
    return getattr(module, function)(services_from_context(params), *args)
