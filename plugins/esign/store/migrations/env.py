"""Alembic environment of the ledger: runs on the connection handed over by ``esign.store.migrations``."""

from __future__ import annotations

from alembic import context

from esign.store.db import _register_all_tables
from esign.store.migrations import VERSION_TABLE
from esign.store.schema import metadata

_register_all_tables()  # every area's tables must be on the metadata before autogenerate compares


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("the ledger migrations run from code: use `esign db upgrade`")
    context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; run `esign db upgrade`")
run_migrations_online()
