"""Run blocking code that calls ``asyncio.run`` safely from anywhere.

pyHanko's synchronous API wraps its async core in ``asyncio.run``, which refuses to start inside a running event
loop (an ``async`` web handler, a notebook, a test harness holding a loop). Such callers get the work done in a
short-lived worker thread instead; everyone else runs it directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def outside_event_loop(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="esign-sync") as pool:
        return pool.submit(fn, *args, **kwargs).result()
