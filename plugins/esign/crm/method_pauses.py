"""CRM methods the portal paused (Bitrix24's per-method time limit), kept in the ledger for ``esign status``.

Why in the ledger: the breaker that pauses a method lives in the worker that met the refusal, while the person
asking "why is the write-back late?" runs ``esign status`` in another process, maybe on another machine. Every
worker already shares the ledger's database, so one row per portal and method (upserted on each pause; a row
whose time has passed is simply not shown) is enough for anyone to see the lag and when it ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Engine, Float, String, Table, delete, insert, select
from sqlalchemy.exc import SQLAlchemyError

from esign.store.schema import metadata

log = logging.getLogger(__name__)

crm_method_pauses = Table(
    "crm_method_pauses",
    metadata,
    Column("portal", String(255), primary_key=True),  # the portal's host: one budget per portal
    Column("method", String(100), primary_key=True),
    Column("paused_until", DateTime(timezone=True), nullable=False),
    Column("operating", Float),  # seconds the portal said the method had used in its window, if known
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True, slots=True)
class MethodPause:
    portal: str
    method: str
    until: datetime
    operating: float | None

    def remaining_minutes(self, now: datetime) -> int:
        """Whole minutes left, rounded up (a pause of 20 s shows as 1 min, not 0)."""
        return max(0, -(-int((self.until - now).total_seconds()) // 60))


class MethodPauseStore:
    """Records pauses and lists the ones still running. Safe to share between threads (one statement each)."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine = engine
        self._clock = clock

    def record(self, portal: str, method: str, until: float, operating: float | None = None) -> None:
        """``method`` of ``portal`` is paused until the Unix time ``until`` (replaces an earlier pause)."""
        row = {"portal": portal, "method": method, "paused_until": datetime.fromtimestamp(until, UTC),
               "operating": operating, "updated_at": self._clock()}
        with self.engine.begin() as conn:
            conn.execute(delete(crm_method_pauses).where(crm_method_pauses.c.portal == portal,
                                                         crm_method_pauses.c.method == method))
            conn.execute(insert(crm_method_pauses), [row])

    def recorder(self, portal: str) -> Callable[[str, float, float | None], None]:
        """A callback for the breaker: records, and only logs when the database refuses (a pause must never
        fail the CRM call that met it)."""
        def on_pause(method: str, until: float, operating: float | None) -> None:
            try:
                self.record(portal, method, until, operating)
            except SQLAlchemyError as exc:
                log.warning("could not record the pause of %s on %s: %s", method, portal, exc)
        return on_pause

    def active(self, now: datetime | None = None) -> list[MethodPause]:
        """The pauses not yet over, soonest end first."""
        now = now or self._clock()
        with self.engine.connect() as conn:
            rows = conn.execute(select(crm_method_pauses).order_by(crm_method_pauses.c.paused_until,
                                                                   crm_method_pauses.c.method)).mappings().all()
        pauses = [MethodPause(r["portal"], r["method"], _aware(r["paused_until"]), r["operating"]) for r in rows]
        return [p for p in pauses if p.until > now]


def _aware(value: datetime) -> datetime:
    """SQLite gives naive datetimes back: they were stored in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
