"""Engines for the ledger: SQLite tuned for many short transactions, or any SQLAlchemy URL."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from esign.errors import StoreError
from esign.store.schema import metadata

_engines: dict[str, Engine] = {}
#: Modules that add tables to ``metadata``; each area owns its own.
_TABLE_MODULES = (
    "esign.store.schema",
    "esign.crm.local_schema",
    "esign.crm.method_pauses",
    "esign.dispatch.outbox_schema",
    "esign.requests.schema",
    "esign.pipeline.schema",
    "esign.access.schema",
    "esign.rules.schema",
)
_lock = threading.Lock()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """A new engine; SQLite files get their folder created and WAL mode."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def get_engine(url: str, *, create: bool = True) -> Engine:
    """One engine per URL per process; brings the schema to head on first use (idempotent, see init_schema)."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            if create:
                init_schema(engine)
            _engines[url] = engine
        return engine


def init_schema(engine: Engine) -> None:
    """Bring the schema to head. Safe to run twice, and from several processes at once.

    PostgreSQL (production) only changes through the versioned migrations in ``esign.store.migrations``.
    A new SQLite file (embedded default, tests) is created from the metadata in one step and stamped at head,
    which is much faster per test; a test keeps both paths producing the same schema.
    """
    from esign.store import migrations

    if engine.dialect.name != "sqlite":
        migrations.upgrade(engine)
        return
    _register_all_tables()
    try:
        with engine.begin() as conn:
            fresh = migrations.current_revision(conn) is None
            if fresh:
                metadata.create_all(conn)
                migrations.stamp_head(conn)
    except Exception as exc:  # a driver error: say which database could not be prepared
        raise StoreError(f"cannot create the ledger schema in {engine.url.render_as_string()}: {exc}") from exc
    if not fresh:
        migrations.upgrade(engine)  # a versioned file: apply what it lacks (a no-op at head)


def dispose_all() -> None:
    """Close pooled connections (tests, forked workers)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _register_all_tables() -> None:
    """Import the modules that add tables to ``metadata`` so ``create_all`` sees every one."""
    import importlib

    for module in _TABLE_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise  # a real import error inside an existing module
