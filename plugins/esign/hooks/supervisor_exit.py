"""Let an Airflow task supervisor notice its task's exit at once, whatever the heartbeat interval.

Airflow 3.3's task supervisor (``airflow.sdk.execution_time.supervisor.WatchedSubprocess``) waits in ``select()``
on the task process's sockets for up to ``[workers] min_heartbeat_interval`` seconds, then checks (without
blocking) whether the process has exited. A finished task closes its sockets a moment before the kernel lets it be
reaped; when the check falls in that moment, the next ``select()`` has no socket left to wake it and sleeps the
whole interval: the worker sits idle for up to 5 s (the default) after every task. Setting the interval to 1 s
hides that but costs one heartbeat call to the api-server per running task per second.

``install()`` shortens only that one wait: while no socket is open and the exit is not yet seen, the supervisor
polls every 50 ms; everything else (heartbeats at the configured interval, logs, timeouts) is Airflow's own code.
It is installed by the modules Airflow's workers load first: ``esign.hooks.worker_preload`` (LocalExecutor with
``[core] mp_forkserver_preload``) and ``esign.hooks.celery_config`` (Celery workers). An Airflow release without
the method it wraps leaves everything as Airflow ships it (a warning says so).
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

log = logging.getLogger(__name__)

#: The poll interval while the task's sockets are closed and its exit is not yet seen.
EXIT_POLL_SECONDS = 0.05
_EXPECTED_PARAMETERS = ("self", "max_wait_time", "raise_on_timeout", "expect_signal")


def install() -> bool:
    """Wrap ``WatchedSubprocess._service_subprocess`` once; False if this Airflow has no such method."""
    try:
        from airflow.sdk.execution_time.supervisor import WatchedSubprocess
    except ImportError:
        return False
    original = getattr(WatchedSubprocess, "_service_subprocess", None)
    if original is None or tuple(inspect.signature(original).parameters) != _EXPECTED_PARAMETERS:
        log.warning("this Airflow's task supervisor differs from 3.3's: its exit detection is left as it is")
        return False
    if getattr(original, "_esign_prompt_exit", False):
        return True

    def service_subprocess(self: Any, max_wait_time: float, raise_on_timeout: bool = False,
                           expect_signal: int | None = None) -> int | None:
        if not self._open_sockets and self._exit_code is None:
            max_wait_time = min(max_wait_time, EXIT_POLL_SECONDS)
        result: int | None = original(self, max_wait_time, raise_on_timeout, expect_signal)
        return result

    service_subprocess._esign_prompt_exit = True  # type: ignore[attr-defined]
    service_subprocess.__wrapped__ = original  # type: ignore[attr-defined]
    WatchedSubprocess._service_subprocess = service_subprocess  # type: ignore[method-assign]
    return True
