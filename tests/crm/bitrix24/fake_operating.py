"""The portal's per-method execution-time budget (``time.operating``), as the REST docs describe it.

Each method's time is summed in one-minute baskets; a basket starts with the first call of its minute and
drops out 10 minutes later (``operating_reset_at``). The portal checks the sum *before* each call: once it
exceeds the limit, calls of that method (direct or inside ``batch``) answer 429 OPERATION_TIME_LIMIT until
enough baskets have dropped out. The outer ``batch`` call itself is not counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

WINDOW = 600.0  # ten one-minute baskets
BASKET = 60.0


@dataclass
class OperatingLedger:
    clock: Callable[[], float]
    limit: float | None = None  # seconds per method per window; None: not enforced (self-hosted default)
    cost: dict[str, float] = field(default_factory=dict)  # seconds one call of a method takes
    default_cost: float = 0.01
    baskets: dict[str, list[list[float]]] = field(default_factory=dict)  # method -> [[start, seconds], ...]

    def _live(self, method: str) -> list[list[float]]:
        now = self.clock()
        live = [b for b in self.baskets.get(method, []) if b[0] + WINDOW > now]
        self.baskets[method] = live
        return live

    def operating(self, method: str) -> float:
        return round(sum(b[1] for b in self._live(method)), 6)

    def reset_at(self, method: str) -> int:
        live = self._live(method)
        return int(live[0][0] + WINDOW) if live else int(self.clock() + WINDOW)

    def blocked(self, method: str) -> bool:
        return self.limit is not None and self.operating(method) > self.limit

    def charge(self, method: str) -> None:
        now = self.clock()
        live = self._live(method)
        if not live or now - live[-1][0] >= BASKET:
            live.append([now, 0.0])
        live[-1][1] += self.cost.get(method, self.default_cost)

    def time(self, method: str | None) -> dict[str, Any]:
        """The ``time`` object of an answer (``method`` None: the outer ``batch``, not counted)."""
        now = self.clock()
        operating = self.operating(method) if method else 0.0
        reset_at = self.reset_at(method) if method else int(now + WINDOW)
        return {"start": now, "finish": now + 0.01, "duration": 0.01, "processing": 0.005,
                "date_start": "2026-05-14T10:26:32+02:00", "date_finish": "2026-05-14T10:26:32+02:00",
                "operating_reset_at": reset_at, "operating": operating}
