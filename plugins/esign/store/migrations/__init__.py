"""Versioned schema migrations of the ledger (Alembic), run from code: ``esign db upgrade`` / ``esign db init``.

Production databases (PostgreSQL) are only ever changed by these migrations. The embedded SQLite default and
the tests keep the fast ``metadata.create_all`` and are stamped at head, which is the same schema because a test
compares the migrated schema with the metadata on both backends. Upgrades take a PostgreSQL advisory lock, so
several workers starting together migrate once.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect

from esign.errors import StoreError

MIGRATIONS_DIR = Path(__file__).resolve().parent
#: Key of the PostgreSQL advisory lock held while migrating (any constant unique to this application).
ADVISORY_LOCK_KEY = 0x65_5369_676E  # "eSign"
VERSION_TABLE = "esign_alembic_version"  # not "alembic_version": the ledger may share a database with Airflow


def alembic_config(connection: Connection | None = None) -> Config:
    """An in-memory Alembic configuration pointing at this folder (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = script_directory().get_current_head()
    if head is None:  # only a broken checkout has no migrations at all
        raise StoreError(f"no ledger migrations found under {MIGRATIONS_DIR}")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at; None when it was never migrated or stamped."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def is_unversioned_ledger(connection: Connection) -> bool:
    """Tables of the ledger exist but no revision is recorded (created by ``create_all`` before migrations)."""
    names = set(inspect(connection).get_table_names())
    return "documents" in names and VERSION_TABLE not in names


def stamp_head(connection: Connection) -> None:
    """Record that the schema is at head without running anything (it was created from the metadata)."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    context.stamp(script_directory(), "head")


def upgrade(engine: Engine) -> str:
    """Bring the database to head; safe to run twice and from several processes at once. Returns the head."""
    from alembic import command

    try:
        with engine.connect() as conn:  # the common case, every worker start: already at head, nothing to lock
            if current_revision(conn) == head_revision():
                return head_revision()
        with engine.begin() as conn:
            _lock(conn)
            if is_unversioned_ledger(conn):
                _adopt(conn)
            else:
                command.upgrade(alembic_config(conn), "head")
    except StoreError:
        raise
    except Exception as exc:  # a driver or migration error: say which database could not be migrated
        raise StoreError(f"cannot migrate the ledger schema in {engine.url.render_as_string()}: {exc}") from exc
    return head_revision()


def _lock(conn: Connection) -> None:
    """Serialise migrations across processes (PostgreSQL); SQLite's write lock does the same for it."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})")


def _adopt(conn: Connection) -> None:
    """A ledger created by ``create_all`` before migrations existed: add missing tables, then stamp head."""
    from esign.store.db import _register_all_tables
    from esign.store.schema import metadata

    _register_all_tables()
    metadata.create_all(conn)
    stamp_head(conn)
