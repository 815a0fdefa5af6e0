"""Per-account login lockout with exponential backoff, kept in the database so every web worker sees it.

The per-IP limit of the login page stops one machine; this stops many machines guessing one account's password.
After ``FREE_FAILURES`` wrong passwords in a row a login waits ``BASE_DELAY``, doubling with each further
failure up to ``MAX_DELAY``; a right password resets it. While a login waits, its password is not even checked,
so guessing during the wait is useless. Every login typed is tracked the same way, existing or not, so the
lockout itself tells nothing about who has an account. The price: anyone can make a known login wait (at most
``MAX_DELAY`` at a time), which is why the delays stay short.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from esign.access.schema import access_login_failures
from esign.errors import EsignError
from esign.store.ledger import utcnow
from esign.store.records import as_utc

FREE_FAILURES = 5
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
#: A login whose last failure is this old starts again from zero (its row is pruned).
FORGET_AFTER = timedelta(days=1)
_MAX_LOGIN = 200


class LoginLockedError(EsignError):
    """Too many wrong passwords for this login: wait ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


def delay_after(failures: int) -> timedelta:
    """How long a login waits after ``failures`` wrong passwords in a row."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    wait: timedelta = BASE_DELAY * 2 ** (failures - FREE_FAILURES)
    return min(wait, MAX_DELAY)


class LoginLockout:
    """Counts failed logins in ``access_login_failures``; one short transaction per call."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self._clock = clock

    def check(self, login: str) -> None:
        """Raise :class:`LoginLockedError` while ``login`` must wait."""
        key = login[:_MAX_LOGIN]
        with self.engine.connect() as conn:
            until = conn.execute(select(access_login_failures.c.locked_until)
                                 .where(access_login_failures.c.login == key)).scalar()
        if until is None:
            return
        left = (as_utc(until) - self._clock()).total_seconds()
        if left > 0:
            raise LoginLockedError(max(1, int(left + 0.999)))

    def failed(self, login: str) -> int:
        """Record a wrong password for ``login``; the failures in a row so far."""
        key, now = login[:_MAX_LOGIN], self._clock()
        table = access_login_failures
        with self.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.last_failure_at < now - FORGET_AFTER,
                                             or_(table.c.locked_until.is_(None), table.c.locked_until < now)))
            failures = self._count(conn, key, now)
        if failures is None:
            try:
                with self.engine.begin() as conn:
                    wait = delay_after(1)
                    conn.execute(table.insert().values(login=key, failures=1, last_failure_at=now,
                                                       locked_until=now + wait if wait else None))
                    failures = 1
            except IntegrityError:  # a concurrent failure for the same login inserted it first
                with self.engine.begin() as conn:
                    failures = self._count(conn, key, now)
        return int(failures or 1)

    @staticmethod
    def _count(conn: Connection, key: str, now: datetime) -> int | None:
        """One more failure for an existing row, and its lock; None when the login has no row yet."""
        table = access_login_failures
        failures = conn.execute(update(table).where(table.c.login == key)
                                .values(failures=table.c.failures + 1, last_failure_at=now)
                                .returning(table.c.failures)).scalar()
        if failures is not None and (wait := delay_after(int(failures))):
            conn.execute(update(table).where(table.c.login == key).values(locked_until=now + wait))
        return None if failures is None else int(failures)

    def succeeded(self, login: str) -> None:
        """A right password: the login starts again from zero."""
        with self.engine.begin() as conn:
            conn.execute(delete(access_login_failures).where(access_login_failures.c.login == login[:_MAX_LOGIN]))
