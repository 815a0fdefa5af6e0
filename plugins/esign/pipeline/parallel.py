"""Run pipeline steps over many batch descriptors on every core: a process pool of long-lived workers.

Why processes: rendering and signing are CPU-bound Python (reportlab, pypdf, pyHanko), so threads share one core.
Each worker builds its :class:`~esign.pipeline.services.Services` once in the pool's initializer (keys decrypted,
fonts and templates parsed, one ledger engine) and reuses it for every descriptor it is given, exactly as a
long-lived Airflow worker does with mapped tasks. Steps stay the idempotent functions of ``esign.pipeline``; the
pool only decides where they run, so exactly-once still rests on the ledger and the outbox, not on the pool.

Workers are started with ``spawn`` (never ``fork``): a forked child would inherit the parent's database
connections and any running threads (an SMTP server, a portal).
"""

from __future__ import annotations

import gc
import importlib
import multiprocessing
import os
import resource
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from esign.config import Settings
from esign.dispatch.email import SmtpSettings
from esign.pipeline.config import PipelineConfig
from esign.pipeline.services import Services

#: Modules whose functions a worker may be asked to run (by name: functions must be importable in a child).
_ALLOWED_PREFIXES = ("esign.pipeline.", "esign.core.documents", "__main__", "__mp_main__")


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs to build its Services: picklable, no open handles, no secrets in ``repr``."""

    settings: Settings  # with the typed ESIGN_* settings (``settings.variables``) the worker's services read
    config: PipelineConfig
    smtp: SmtpSettings
    passphrase: bytes | None = field(default=None, repr=False)  # None: the worker reads it from the settings


@dataclass(frozen=True, slots=True)
class TaskResult:
    """One call's result and what it cost the worker that ran it."""

    value: Any
    wall: float
    cpu: float
    pid: int
    peak_rss_mib: float


_services: Services | None = None
#: What this worker may run: ``_ALLOWED_PREFIXES`` plus the modules the pool's owner named (``step_modules``).
_allowed: tuple[str, ...] = _ALLOWED_PREFIXES


def _init_worker(spec: WorkerSpec, step_modules: tuple[str, ...] = ()) -> None:
    """Build the worker's heavy objects once: keys, sealer, templates, fonts, ledger engine."""
    global _services, _allowed
    _allowed = _ALLOWED_PREFIXES + step_modules
    from esign.render.fonts import register_fonts
    from esign.workspace import Workspace

    ws = Workspace(spec.settings, passphrase=spec.passphrase)
    _ = ws.sealer, ws.templates, ws.company, ws.ledger, ws.trust_roots
    register_fonts()
    _services = Services(ws=ws, config=spec.config, smtp=spec.smtp)
    # what the worker holds for its whole life (modules, keys, fonts, templates) need not be walked by every full
    # collection; as esign.hooks.worker_preload does for Airflow's workers
    gc.freeze()


def worker_services() -> Services:
    """The Services of the current pool worker (for functions run through :meth:`StepPool.map`)."""
    if _services is None:
        raise RuntimeError("not inside a StepPool worker")
    return _services


def _resolve(name: str, allowed: tuple[str, ...] | None = None) -> Callable[..., Any]:
    prefixes = _allowed if allowed is None else allowed
    module_name, _, attr = name.partition(":")
    if not attr or not module_name.startswith(prefixes):
        raise ValueError(f"not a pipeline step: {name!r}")
    function: Callable[..., Any] = getattr(importlib.import_module(module_name), attr)
    return function


def _run(name: str, arg: Any) -> TaskResult:
    """Call ``name(services, arg)`` in this worker and measure it."""
    function = _resolve(name)
    wall, cpu = time.perf_counter(), time.process_time()
    value = function(worker_services(), arg)
    return TaskResult(value=value, wall=time.perf_counter() - wall, cpu=time.process_time() - cpu,
                      pid=os.getpid(), peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def step_name(function: Callable[..., Any]) -> str:
    """``module:function`` for a step function, as the pool passes it to workers."""
    return f"{function.__module__}:{function.__qualname__}"


class StepPool:
    """A pool of ``workers`` processes, each holding one Services for ``spec``. Use as a context manager.

    Workers run the pipeline's steps; a caller with steps of its own (composite steps of a measurement) names their
    modules in ``step_modules`` (module prefixes, e.g. ``"myproject.steps."``), so this package need not know them.
    """

    def __init__(self, spec: WorkerSpec, workers: int | None = None, *, step_modules: Iterable[str] = ()) -> None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        self.workers = max(1, workers or cores)
        self._executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_init_worker, initargs=(spec, tuple(step_modules)))

    def warm_up(self) -> list[TaskResult]:
        """Start every worker and wait until each has built its Services (keeps start-up out of timings)."""
        futures = [self._executor.submit(_run, step_name(_ready), n) for n in range(self.workers)]
        return [f.result() for f in futures]

    def map(self, step: Callable[[Services, Any], Any], items: Iterable[Any]) -> Iterator[TaskResult]:
        """Run ``step(services, item)`` for each item across the workers; results in submission order.

        At most two calls per worker are queued at a time, so a long stream of descriptors is never all
        in memory at once.
        """
        name = step_name(step)
        pending: list[Future[TaskResult]] = []
        for item in items:
            pending.append(self._executor.submit(_run, name, item))
            if len(pending) >= 2 * self.workers:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _ready(services: Services, n: int) -> int:
    """A no-op step: the worker exists and its Services are built."""
    return n
