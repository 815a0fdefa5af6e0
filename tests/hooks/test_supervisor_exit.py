"""The task supervisor's wait is cut short only while its task's sockets are closed and the exit is not yet seen."""

from __future__ import annotations

from typing import Any

import pytest

from esign.hooks import supervisor_exit


class _Selector:
    """Records how long the supervisor asks to wait; no socket is ever ready."""

    def __init__(self) -> None:
        self.timeouts: list[float] = []

    def select(self, timeout: float) -> list[Any]:
        self.timeouts.append(timeout)
        return []


class _Running:
    """The task process as psutil sees it while the kernel has not let it be reaped yet."""

    class TimeoutExpired(Exception):
        pass

    def wait(self, timeout: float) -> int:
        raise self.TimeoutExpired


@pytest.fixture
def watched_class(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Airflow's WatchedSubprocess with the wrap installed (undone afterwards). Imported here, not when the module
    is collected: importing Airflow's supervisor raises the httpx logger's level for the whole test process."""
    from airflow.sdk.execution_time.supervisor import WatchedSubprocess

    monkeypatch.setattr(WatchedSubprocess, "_service_subprocess", WatchedSubprocess._service_subprocess)
    assert supervisor_exit.install()
    return WatchedSubprocess


def _supervisor(cls: Any, open_sockets: dict[Any, str]) -> Any:
    watched: Any = object.__new__(cls)
    watched.selector, watched._process = _Selector(), _Running()
    watched._exit_code, watched._open_sockets = None, open_sockets
    return watched


def test_with_every_socket_closed_the_supervisor_polls_for_the_exit(watched_class: Any) -> None:
    watched = _supervisor(watched_class, {})
    assert watched_class._service_subprocess(watched, max_wait_time=5.0) is None
    assert watched.selector.timeouts == [supervisor_exit.EXIT_POLL_SECONDS]


def test_while_the_task_runs_the_wait_is_airflows(watched_class: Any) -> None:
    watched = _supervisor(watched_class, {object(): "stdout"})
    watched_class._service_subprocess(watched, max_wait_time=5.0)
    assert watched.selector.timeouts == [5.0]


def test_install_wraps_once(watched_class: Any) -> None:
    wrapper = watched_class._service_subprocess
    assert supervisor_exit.install() and watched_class._service_subprocess is wrapper
    assert not getattr(wrapper.__wrapped__, "_esign_prompt_exit", False)


def test_a_supervisor_of_another_shape_is_left_alone(watched_class: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def other(self: Any, timeout: float) -> None:
        return None

    monkeypatch.setattr(watched_class, "_service_subprocess", other)
    assert not supervisor_exit.install()
    assert watched_class._service_subprocess is other
