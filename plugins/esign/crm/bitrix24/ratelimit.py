"""Client-side pacing: a leaky bucket like the portal's own, and exponential backoff for retries.

This bucket paces one process (tests inject its clock). Deployments share one budget per portal across processes
and workers: :mod:`esign.crm.bitrix24.budget` (Redis, or a lock file), behind the same :class:`RequestBudget`.

Why on the client: the portal counts requests per portal in a bucket (burst 50, draining 2/s; Enterprise 250
and 5/s) and answers QUERY_LIMIT_EXCEEDED once it overflows. Pacing ourselves the same way means the first
2,500-deal export batches run at full speed and long runs settle at the drain rate instead of hammering 503s.
Clock and sleep are injected so tests never wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class RequestBudget(Protocol):
    """What the transport asks of a rate budget: a slot before each request, and "full" after a 503."""

    waited: float

    def acquire(self) -> float:
        """Take one slot, sleeping as long as needed; returns the seconds waited."""
        ...

    def fill(self) -> None:
        """The portal said we are over the limit: assume a full bucket."""
        ...


class LeakyBucket:
    """``acquire()`` blocks until one more request fits. Thread-safe; shared by every call of one client."""

    def __init__(self, burst: int = 50, rate: float = 2.0, *, clock: Clock = time.monotonic,
                 sleep: Sleep = time.sleep) -> None:
        if burst < 1 or rate <= 0:
            raise ValueError("burst must be >= 1 and rate > 0")
        self.burst = burst
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._level = 0.0
        self._at = clock()
        self._lock = threading.Lock()
        self.waited = 0.0  # total seconds spent waiting (for logs and tests)

    def _drain(self, now: float) -> None:
        self._level = max(0.0, self._level - (now - self._at) * self.rate)
        self._at = now

    def acquire(self) -> float:
        """Take one slot, sleeping as long as needed; returns the seconds waited."""
        with self._lock:
            self._drain(self._clock())
            wait = max(0.0, (self._level + 1 - self.burst) / self.rate)
            if wait > 0:
                self._sleep(wait)
                self._drain(self._clock())
                self.waited += wait
            self._level += 1
            return wait

    def fill(self) -> None:
        """The portal said we are over the limit: assume a full bucket so the next calls pace themselves."""
        with self._lock:
            self._drain(self._clock())
            self._level = float(self.burst)


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Seconds before retry number ``attempt`` (1 = first retry): base, 2*base, 4*base, ... at most ``cap``."""
    return float(min(cap, base * 2 ** (attempt - 1)))
