"""Roles, users and API tokens in the ledger database, and turning a login or token into a :class:`Principal`."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError

from esign.access.lockout import LoginLockout
from esign.access.passwords import check_password, hash_password
from esign.access.policy import Principal
from esign.access.rights import DEFAULT_ROLES, Level, Right
from esign.access.schema import access_role_rights, access_roles, access_tokens, access_user_roles, access_users
from esign.errors import ConfigError, EsignError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,79}$")


class UnknownUserError(EsignError):
    """No active user by that login (or the token/password does not match)."""


@dataclass(frozen=True, slots=True)
class RoleInfo:
    name: str
    description: str
    rights: Mapping[Right, Level]


@dataclass(frozen=True, slots=True)
class UserInfo:
    login: str
    name: str
    manager_id: str | None
    airflow_user: str | None
    active: bool
    roles: tuple[str, ...]
    has_password: bool


def _token_sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_name(kind: str, name: str) -> str:
    if not _NAME.match(name):
        raise ConfigError(f"{kind} {name!r}: use letters, digits and _ . @ - (at most 80 characters)")
    return name


class AccessStore:
    """Reads and writes the ``access_*`` tables. Every write is one short transaction."""

    def __init__(self, engine: Engine, lockout: LoginLockout | None = None) -> None:
        self.engine = engine
        self.lockout = lockout or LoginLockout(engine)

    # -- roles -------------------------------------------------------------------------------------
    def ensure_default_roles(self) -> list[str]:
        """Create the default roles that do not exist yet (existing ones keep their edited rights)."""
        created = []
        existing = {r.name for r in self.roles()}
        for name, rights in DEFAULT_ROLES.items():
            if name not in existing:
                self.save_role(name, rights, description="default")
                created.append(name)
        return created

    def save_role(self, name: str, rights: Mapping[Right, Level], description: str = "") -> None:
        """Create or replace a role and its rights."""
        _check_name("role", name)
        with self.engine.begin() as conn:
            if conn.execute(select(access_roles.c.name).where(access_roles.c.name == name)).first() is None:
                conn.execute(access_roles.insert().values(name=name, description=description))
            elif description:
                conn.execute(access_roles.update().where(access_roles.c.name == name).values(description=description))
            conn.execute(delete(access_role_rights).where(access_role_rights.c.role == name))
            rows = [{"role": name, "right": r.value, "level": int(level)} for r, level in rights.items()
                    if level is not Level.NONE]
            if rows:
                conn.execute(access_role_rights.insert(), rows)

    def set_right(self, role: str, right: Right, level: Level) -> None:
        current = self.role(role)
        self.save_role(role, {**current.rights, right: level})

    def delete_role(self, name: str) -> bool:
        with self.engine.begin() as conn:
            conn.execute(delete(access_user_roles).where(access_user_roles.c.role == name))
            conn.execute(delete(access_role_rights).where(access_role_rights.c.role == name))
            return conn.execute(delete(access_roles).where(access_roles.c.name == name)).rowcount > 0

    def role(self, name: str) -> RoleInfo:
        for info in self.roles():
            if info.name == name:
                return info
        raise ConfigError(f"unknown role {name!r}")

    def roles(self) -> list[RoleInfo]:
        with self.engine.connect() as conn:
            roles = conn.execute(select(access_roles).order_by(access_roles.c.name)).all()
            rights = conn.execute(select(access_role_rights)).all()
        by_role: dict[str, dict[Right, Level]] = {}
        for row in rights:
            if row.right in Right.__members__.values():
                by_role.setdefault(row.role, {})[Right(row.right)] = Level(row.level)
        return [RoleInfo(r.name, r.description, by_role.get(r.name, {})) for r in roles]

    # -- users -------------------------------------------------------------------------------------
    def add_user(self, login: str, *, name: str = "", manager_id: str | None = None, roles: tuple[str, ...] = (),
                 password: str | None = None, airflow_user: str | None = None) -> UserInfo:
        _check_name("user", login)
        known = {r.name for r in self.roles()}
        missing = [r for r in roles if r not in known]
        if missing:
            raise ConfigError(f"user {login}: unknown role(s) {', '.join(missing)}")
        try:
            with self.engine.begin() as conn:
                conn.execute(access_users.insert().values(
                    login=login, name=name, manager_id=manager_id or None, airflow_user=airflow_user or None,
                    password_hash=hash_password(password) if password else None, active=True,
                    created_at=datetime.now(UTC)))
                if roles:
                    conn.execute(access_user_roles.insert(), [{"login": login, "role": r} for r in roles])
        except IntegrityError as exc:
            raise ConfigError(f"user {login}: the login or its Airflow user is already taken") from exc
        return self.user(login)

    def set_password(self, login: str, password: str) -> None:
        """A new password ends every session and API token the user had (whoever held the old one loses them)."""
        self._update_user(login, password_hash=hash_password(password))
        self.end_sessions(login)

    def set_active(self, login: str, active: bool) -> None:
        """Deactivating ends every session and API token: reactivating later does not bring them back."""
        self._update_user(login, active=active)
        if not active:
            self.end_sessions(login)

    def grant(self, login: str, role: str) -> None:
        self.role(role)
        self.user(login)
        try:
            with self.engine.begin() as conn:
                conn.execute(access_user_roles.insert().values(login=login, role=role))
        except IntegrityError:
            pass  # already held

    def revoke(self, login: str, role: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(access_user_roles).where(access_user_roles.c.login == login,
                                                                access_user_roles.c.role == role)).rowcount > 0

    def _update_user(self, login: str, **values: object) -> None:
        with self.engine.begin() as conn:
            if conn.execute(access_users.update().where(access_users.c.login == login).values(**values)).rowcount != 1:
                raise UnknownUserError(f"unknown user {login!r}")

    def user(self, login: str) -> UserInfo:
        found = [u for u in self.users(login) if u.login == login]
        if not found:
            raise UnknownUserError(f"unknown user {login!r}")
        return found[0]

    def users(self, login: str | None = None) -> list[UserInfo]:
        query = select(access_users).order_by(access_users.c.login)
        if login is not None:
            query = query.where(access_users.c.login == login)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            held: dict[str, list[str]] = {}
            for row in conn.execute(select(access_user_roles).order_by(access_user_roles.c.role)):
                held.setdefault(row.login, []).append(row.role)
        return [UserInfo(r.login, r.name, r.manager_id, r.airflow_user, bool(r.active), tuple(held.get(r.login, ())),
                         r.password_hash is not None) for r in rows]

    def configured(self) -> bool:
        """Permissions are enforced once at least one user exists; before that, the pipeline runs as before."""
        with self.engine.connect() as conn:
            return bool(conn.execute(select(func.count()).select_from(access_users)).scalar())

    def login_for_airflow_user(self, airflow_user: str) -> str | None:
        """The esign user an Airflow login answers approvals as (its own login when no mapping is set)."""
        with self.engine.connect() as conn:
            login = conn.execute(select(access_users.c.login)
                                 .where(access_users.c.airflow_user == airflow_user)).scalar()
            if login is None:
                login = conn.execute(select(access_users.c.login).where(access_users.c.login == airflow_user)).scalar()
        return None if login is None else str(login)

    def session_epoch(self, login: str) -> int:
        """The user's current session generation (0 for a user who never logged out)."""
        with self.engine.connect() as conn:
            value = conn.execute(select(access_users.c.session_epoch).where(access_users.c.login == login)).scalar()
        if value is None:
            raise UnknownUserError(f"unknown user {login!r}")
        return int(value)

    def end_sessions(self, login: str) -> int:
        """Invalidate every session cookie issued to ``login`` so far and revoke its API tokens (logout,
        password change, deactivation); how many tokens were revoked."""
        with self.engine.begin() as conn:
            conn.execute(access_users.update().where(access_users.c.login == login)
                         .values(session_epoch=access_users.c.session_epoch + 1))
            return int(conn.execute(delete(access_tokens).where(access_tokens.c.login == login)).rowcount or 0)

    # -- principals --------------------------------------------------------------------------------
    def principal(self, login: str) -> Principal:
        """The active user's widest level per right over all their roles."""
        info = self.user(login)
        if not info.active:
            raise UnknownUserError(f"user {login!r} is deactivated")
        levels: dict[Right, Level] = {}
        for role in self.roles():
            if role.name in info.roles:
                for right, level in role.rights.items():
                    levels[right] = max(levels.get(right, Level.NONE), level)
        return Principal(info.login, info.name, info.manager_id, info.roles, levels)

    def authenticate_password(self, login: str, password: str) -> Principal:
        """The user behind a login and password. Raises :class:`LoginLockedError` while the login waits after
        too many failures, else :class:`UnknownUserError` for any mismatch: unknown login, no password, wrong
        password, deactivated user, all after the same password-hashing work."""
        self.lockout.check(login)
        with self.engine.connect() as conn:
            stored = conn.execute(select(access_users.c.password_hash).where(access_users.c.login == login)).scalar()
        if not check_password(password, stored):
            self.lockout.failed(login)
            raise UnknownUserError("wrong login or password")
        principal = self.principal(login)  # a deactivated user is refused here, with the same error
        self.lockout.succeeded(login)
        return principal

    def issue_token(self, login: str, label: str = "") -> str:
        """A new API token for ``login``; shown once, stored as SHA-256 only."""
        self.user(login)
        token = "esk_" + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(access_tokens.insert().values(token_sha256=_token_sha(token), login=login, label=label,
                                                       created_at=datetime.now(UTC)))
        return token

    def revoke_tokens(self, login: str) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(delete(access_tokens).where(access_tokens.c.login == login)).rowcount or 0)

    def authenticate_token(self, token: str) -> Principal:
        with self.engine.connect() as conn:
            login = conn.execute(select(access_tokens.c.login)
                                 .where(access_tokens.c.token_sha256 == _token_sha(token))).scalar()
        if login is None:
            raise UnknownUserError("unknown API token")
        return self.principal(str(login))
