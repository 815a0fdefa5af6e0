"""The task supervisor's wait is cut short only while its task's sockets are closed and the exit is not yet seen."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk.execution_time.supervisor import WatchedSubprocess

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


def _supervisor(open_sockets: dict[Any, str]) -> Any:
    watched: Any = object.__new__(WatchedSubprocess)
    watched.selector, watched._process = _Selector(), _Running()
    watched._exit_code, watched._open_sockets = None, open_sockets
    return watched


@pytest.fixture(autouse=True)
def _installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(WatchedSubprocess, "_service_subprocess", WatchedSubprocess._service_subprocess)
    assert supervisor_exit.install()


def test_with_every_socket_closed_the_supervisor_polls_for_the_exit() -> None:
    watched = _supervisor({})
    assert WatchedSubprocess._service_subprocess(watched, max_wait_time=5.0) is None
    assert watched.selector.timeouts == [supervisor_exit.EXIT_POLL_SECONDS]


def test_while_the_task_runs_the_wait_is_airflows() -> None:
    watched = _supervisor({object(): "stdout"})
    WatchedSubprocess._service_subprocess(watched, max_wait_time=5.0)
    assert watched.selector.timeouts == [5.0]


def test_install_wraps_once() -> None:
    wrapper = WatchedSubprocess._service_subprocess
    assert supervisor_exit.install() and WatchedSubprocess._service_subprocess is wrapper
    original = wrapper.__wrapped__  # type: ignore[attr-defined]
    assert not getattr(original, "_esign_prompt_exit", False)


def test_a_supervisor_of_another_shape_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    def other(self: Any, timeout: float) -> None:
        return None

    monkeypatch.setattr(WatchedSubprocess, "_service_subprocess", other)
    assert not supervisor_exit.install()
    assert WatchedSubprocess._service_subprocess is other
