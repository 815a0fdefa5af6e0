"""Per-method breaker for the portal's execution-time budget (``time.operating``, OPERATION_TIME_LIMIT).

Why a breaker per method: the portal sums each method's execution time over ten one-minute baskets and, once
over its limit, refuses that one method (HTTP 429) until the oldest basket drops out at ``operating_reset_at``
(a Unix time in every answer's ``time``). Other methods keep working. Retrying with a short backoff only
burns requests and fails the documents; pausing the method until the reset lets them wait instead.

Every answer's ``time`` is observed, so the reset time is known even when the refusal itself (a command
inside ``batch``) carries none. A pause the caller may wait out (``max_wait``) is slept through; a longer one
raises :class:`Bitrix24MethodPausedError` so the work is retried later rather than failed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from esign.crm.bitrix24.errors import Bitrix24MethodPausedError

log = logging.getLogger(__name__)

WINDOW = 600.0  # the portal's accounting window: ten one-minute baskets
BASKET = 60.0  # a refusal without any known reset time waits for one basket


@dataclass(frozen=True, slots=True)
class MethodUsage:
    """What the portal last said about one method: seconds used in the window and when the oldest drops."""

    operating: float
    reset_at: float | None
    paused_until: float | None = None


class MethodBreaker:
    """Thread-safe. ``clock`` is Unix time (the portal's ``operating_reset_at`` is a timestamp)."""

    def __init__(self, *, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 max_wait: float = WINDOW + BASKET) -> None:
        self._clock = clock
        self._sleep = sleep
        self.max_wait = max_wait
        self._lock = threading.Lock()
        self._usage: dict[str, tuple[float, float | None]] = {}
        self._paused: dict[str, float] = {}
        self.waited = 0.0  # seconds slept waiting for paused methods (for the report)
        self.trips = 0
        #: Told of every pause (method, until, seconds used): where other processes can see it (esign status).
        self.on_pause: Callable[[str, float, float | None], None] | None = None

    def observe(self, method: str, timing: Any) -> None:
        """Remember ``operating``/``operating_reset_at`` from an answer's ``time`` (absent fields are skipped)."""
        if not isinstance(timing, Mapping):
            return
        operating, reset_at = _number(timing.get("operating")), _number(timing.get("operating_reset_at"))
        if operating is None and reset_at is None:
            return
        with self._lock:
            old_operating, old_reset = self._usage.get(method, (0.0, None))
            self._usage[method] = (old_operating if operating is None else operating,
                                   old_reset if reset_at is None else reset_at)

    def trip(self, method: str, reset_at: float | None = None) -> float:
        """The portal refused ``method``: pause it until ``reset_at`` (or the last one seen, or one basket)."""
        with self._lock:
            now = self._clock()
            known = self._usage.get(method, (0.0, None))[1]
            until = next((t for t in (reset_at, known) if t is not None and t > now), now + BASKET)
            until = min(until, now + WINDOW)  # never longer than the window itself
            self._paused[method] = paused = max(until, self._paused.get(method, 0.0))
            operating = self._usage[method][0] if method in self._usage else None
            self.trips += 1
        if self.on_pause is not None:
            self.on_pause(method, paused, operating)
        log.warning("Bitrix24 %s: method time limit reached; paused for %.0f s (until %s)", method, until - now,
                    time.strftime("%H:%M:%S", time.gmtime(until)))
        return until

    def wait(self, methods: Iterable[str]) -> float:
        """Sleep until none of ``methods`` is paused; raise when that would take longer than ``max_wait``."""
        wanted = set(methods)
        with self._lock:
            now = self._clock()
            for method in [m for m, until in self._paused.items() if until <= now]:
                del self._paused[method]
            blocking = {m: u for m, u in self._paused.items() if m in wanted}
        if not blocking:
            return 0.0
        method, until = max(blocking.items(), key=lambda item: item[1])
        delay = until - now
        if delay > self.max_wait:
            error = Bitrix24MethodPausedError(
                f"Bitrix24 {method}: paused by the portal's method time limit for {delay:.0f} s more; "
                "retry later", method=method, code="OPERATION_TIME_LIMIT", status=429)
            error.until, error.reset_at, error.paused_method = until, until, method
            raise error
        self._sleep(delay)
        with self._lock:
            self.waited += delay
        return delay

    def usage(self) -> dict[str, MethodUsage]:
        """Per method: seconds used, the next reset and, when paused, until when (for status and reports)."""
        with self._lock:
            now = self._clock()
            return {m: MethodUsage(operating, reset, u if (u := self._paused.get(m)) and u > now else None)
                    for m, (operating, reset) in sorted(self._usage.items())} | {
                m: MethodUsage(0.0, None, u) for m, u in self._paused.items() if m not in self._usage and u > now}


def reset_at_of(timing: Any) -> float | None:
    """``operating_reset_at`` from a ``time`` object, if any."""
    return _number(timing.get("operating_reset_at")) if isinstance(timing, Mapping) else None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None
