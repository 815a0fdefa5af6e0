"""Logins that tell nothing and cannot be guessed at: equal work for every failure, a per-account lockout with
backoff (kept in the database, the same for logins that do not exist), and sessions and tokens ended on a
password change, a deactivation or a logout."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from esign.access import AccessStore, LoginLockedError, LoginLockout, UnknownUserError
from esign.access import passwords as password_module
from esign.access.lockout import BASE_DELAY, FREE_FAILURES, MAX_DELAY, delay_after
from esign.access.schema import access_login_failures, access_users
from tests.access.conftest import Org


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def scrypt_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int]]:
    """Every scrypt the password module runs, by its cost parameters (n, r, p)."""
    calls: list[tuple[int, int, int]] = []
    real: Callable[..., bytes] = hashlib.scrypt

    def counting(password: bytes, **kw: Any) -> bytes:
        calls.append((kw["n"], kw["r"], kw["p"]))
        return real(password, **kw)

    password_module._stand_in()  # made once per process, outside what the test counts
    monkeypatch.setattr(password_module.hashlib, "scrypt", counting)
    return calls


def test_every_failed_login_costs_one_scrypt_at_the_same_cost(org: Org, engine: Engine,
                                                             scrypt_calls: list[tuple[int, int, int]]) -> None:
    org.store.add_user("sem-senha", roles=("Employee",))
    org.store.add_user("inativo", roles=("Employee",), password="senha-do-inativo")
    org.store.set_active("inativo", False)
    org.store.add_user("estragado", roles=("Employee",), password="senha-estragada")
    with engine.begin() as conn:
        conn.execute(access_users.update().where(access_users.c.login == "estragado")
                     .values(password_hash="md5$not-ours"))
    scrypt_calls.clear()
    org.store.authenticate_password("ana", "senha-da-ana")
    right = list(scrypt_calls)
    assert len(right) == 1
    for login, password in (("ana", "errada-123"), ("ninguem", "senha-da-ana"), ("sem-senha", "qualquer-uma"),
                            ("inativo", "senha-do-inativo"), ("estragado", "senha-estragada")):
        scrypt_calls.clear()
        with pytest.raises(UnknownUserError):
            org.store.authenticate_password(login, password)
        assert scrypt_calls == right, login  # same work: the answer time says nothing about the account


def test_lockout_backs_off_and_a_right_password_resets_it(engine: Engine, org: Org) -> None:
    clock = Clock()
    store = AccessStore(engine, LoginLockout(engine, clock))
    for _ in range(FREE_FAILURES - 1):
        with pytest.raises(UnknownUserError):
            store.authenticate_password("ana", "errada-123")
    with pytest.raises(UnknownUserError):  # the fifth failure: counted, and now the login waits
        store.authenticate_password("ana", "errada-123")
    with pytest.raises(LoginLockedError) as locked:
        store.authenticate_password("ana", "senha-da-ana")  # even the right password waits
    assert locked.value.retry_after == int(BASE_DELAY.total_seconds())
    clock.advance(BASE_DELAY.total_seconds())
    with pytest.raises(UnknownUserError):
        store.authenticate_password("ana", "errada-123")  # the sixth: twice as long
    with pytest.raises(LoginLockedError) as locked:
        store.authenticate_password("ana", "senha-da-ana")
    assert locked.value.retry_after == 2 * int(BASE_DELAY.total_seconds())
    clock.advance(2 * BASE_DELAY.total_seconds())
    assert store.authenticate_password("ana", "senha-da-ana").login == "ana"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(access_login_failures)).scalar() == 0
    for _ in range(FREE_FAILURES - 1):  # the count starts again from zero
        with pytest.raises(UnknownUserError):
            store.authenticate_password("ana", "errada-123")
    assert store.authenticate_password("ana", "senha-da-ana").login == "ana"


def test_lockout_looks_the_same_for_a_login_that_does_not_exist(engine: Engine, org: Org,
                                                                scrypt_calls: list[tuple[int, int, int]]) -> None:
    clock = Clock()
    store = AccessStore(engine, LoginLockout(engine, clock))
    for login in ("ana", "ninguem"):
        for _ in range(FREE_FAILURES):
            with pytest.raises(UnknownUserError):
                store.authenticate_password(login, "errada-123")
        scrypt_calls.clear()
        with pytest.raises(LoginLockedError) as locked:
            store.authenticate_password(login, "errada-123")
        assert locked.value.retry_after == int(BASE_DELAY.total_seconds())
        assert scrypt_calls == []  # while it waits, no password is even checked


def test_delays_are_capped_and_old_failures_forgotten(engine: Engine) -> None:
    assert [delay_after(n) for n in range(FREE_FAILURES)] == [timedelta(0)] * FREE_FAILURES
    assert delay_after(FREE_FAILURES + 3) == BASE_DELAY * 8
    assert delay_after(FREE_FAILURES + 40) == MAX_DELAY
    clock = Clock()
    lockout = LoginLockout(engine, clock)
    assert [lockout.failed("x") for _ in range(3)] == [1, 2, 3]
    clock.advance(timedelta(days=1, seconds=1).total_seconds())
    assert lockout.failed("y") == 1  # pruned "x" on the way
    assert lockout.failed("x") == 1
    lockout.check("x")  # not locked


def test_password_change_deactivation_and_logout_end_sessions_and_tokens(org: Org) -> None:
    store = org.store
    for change in (lambda: store.set_password("ana", "uma-senha-nova"), lambda: store.set_active("ana", False),
                   lambda: store.end_sessions("ana")):
        store.set_active("ana", True)
        token, epoch = store.issue_token("ana"), store.session_epoch("ana")
        change()
        assert store.session_epoch("ana") == epoch + 1  # every session cookie issued before is refused
        with pytest.raises(UnknownUserError, match="unknown API token"):
            store.authenticate_token(token)
    other = store.issue_token("bruno")
    store.end_sessions("ana")
    assert store.authenticate_token(other).login == "bruno"  # only that user's
