"""The store's suites run on SQLite (embedded default) and on PostgreSQL (production), same tests.

PostgreSQL: one throwaway database per session, migrated to head with the real migrations, emptied before
each test (TRUNCATE is much faster than a database per test).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from esign.store import init_schema, make_engine
from esign.store.db import _register_all_tables
from esign.store.schema import metadata
from tests.prod.postgres import throwaway_database


@pytest.fixture(scope="session")
def pg_ledger_url() -> Iterator[str]:
    with throwaway_database("esign_store") as url:
        engine = make_engine(url)
        init_schema(engine)  # the migrations, as in production
        engine.dispose()
        yield url


def truncate_all(engine: Engine) -> None:
    """Empty every table of the schema and reset its ID sequences."""
    _register_all_tables()
    present = set(inspect(engine).get_table_names())
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables if t.name in present)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
        init_schema(eng)
    else:
        eng = make_engine(request.getfixturevalue("pg_ledger_url"))
        truncate_all(eng)
    yield eng
    eng.dispose()
