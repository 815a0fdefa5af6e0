"""Tables of the permission model on the ledger's shared metadata: roles, their rights, users, tokens."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from esign.store.schema import metadata

access_roles = Table(
    "access_roles",
    metadata,
    Column("name", String(80), primary_key=True),
    Column("description", Text, nullable=False, default=""),
)

#: One level per (role, right); a right missing here is ``none``.
access_role_rights = Table(
    "access_role_rights",
    metadata,
    Column("role", String(80), ForeignKey("access_roles.name", ondelete="CASCADE"), nullable=False),
    Column("right", String(40), nullable=False),
    Column("level", Integer, nullable=False),
    PrimaryKeyConstraint("role", "right", name="pk_access_role_rights"),
)

#: A person who acts on documents. ``manager_id`` links them to the CRM's responsible manager;
#: ``airflow_user`` is the Airflow login that answers the approval task as this person.
access_users = Table(
    "access_users",
    metadata,
    Column("login", String(80), primary_key=True),
    Column("name", String(200), nullable=False, default=""),
    Column("manager_id", String(64)),
    Column("airflow_user", String(200), unique=True),
    Column("password_hash", Text),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # bumped at logout: session cookies carry it, so a logged-out cookie is refused by the server
    Column("session_epoch", Integer, nullable=False, default=0, server_default="0"),
)

access_user_roles = Table(
    "access_user_roles",
    metadata,
    Column("login", String(80), ForeignKey("access_users.login", ondelete="CASCADE"), nullable=False),
    Column("role", String(80), ForeignKey("access_roles.name", ondelete="CASCADE"), nullable=False),
    PrimaryKeyConstraint("login", "role", name="pk_access_user_roles"),
)

#: API tokens, stored only as SHA-256: a copy of the database cannot be used to call the API.
access_tokens = Table(
    "access_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("login", String(80), ForeignKey("access_users.login", ondelete="CASCADE"), nullable=False),
    Column("label", String(200), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

#: Failed password checks per login typed at the register, for the per-account lockout. Keyed by the login as
#: typed (existing or not), so a lockout looks the same for every name and tells nothing about who has an account.
access_login_failures = Table(
    "access_login_failures",
    metadata,
    Column("login", String(200), primary_key=True),
    Column("failures", Integer, nullable=False, default=0),
    Column("locked_until", DateTime(timezone=True)),
    Column("last_failure_at", DateTime(timezone=True), nullable=False),
)
Index("ix_access_login_failures_last", access_login_failures.c.last_failure_at)
