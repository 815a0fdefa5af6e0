"""The ledger's migrations on SQLite and PostgreSQL: head from empty, twice, concurrently, from a legacy ledger,
and the same schema as the metadata (so ``create_all`` for SQLite tests and migrations in production agree)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select

from esign.cli import main
from esign.errors import StoreError
from esign.store import Ledger, init_schema, make_engine
from esign.store.db import _register_all_tables
from esign.store.migrations import VERSION_TABLE, current_revision, head_revision, upgrade
from esign.store.schema import documents, metadata
from tests.prod.postgres import throwaway_database
from tests.support import PROJECT_DIR


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to a database with nothing in it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with throwaway_database("esign_migr") as url:
        yield url


def _schema_diff(engine: Engine) -> list[object]:
    """What the metadata has that the migrated database lacks (or the other way round)."""
    _register_all_tables()
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "version_table": VERSION_TABLE})
        return list(compare_metadata(context, metadata))


def assert_no_drift(engine: Engine) -> None:
    diff = _schema_diff(engine)
    assert diff == [], (
        "the tables on esign.store.schema.metadata differ from the migrations; add a migration with "
        f'`.venv/bin/python -m esign.store.migrations revision "what changed"` and review it. Differences: {diff}')


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return current_revision(conn)


def test_upgrade_from_empty_reaches_head_and_matches_the_metadata(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        assert _revision(engine) is None
        assert upgrade(engine) == head_revision()
        assert _revision(engine) == head_revision()
        assert_no_drift(engine)
        Ledger(engine).create_document(deal_id="1", template_id="t", title="x")
        assert upgrade(engine) == head_revision()  # twice: a no-op that keeps the data
        assert Ledger(engine).stage_counts() == {"draft": 1}
    finally:
        engine.dispose()


def test_init_schema_brings_any_database_to_head(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        init_schema(engine)
        init_schema(engine)
        assert _revision(engine) == head_revision()
        assert_no_drift(engine)
    finally:
        engine.dispose()


def test_a_ledger_created_before_migrations_is_adopted(empty_url: str) -> None:
    """``create_all`` without a version table (the schema before migrations): upgrade stamps it, keeps rows."""
    engine = make_engine(empty_url)
    try:
        _register_all_tables()
        metadata.create_all(engine)
        Ledger(engine).create_document(deal_id="7", template_id="t", title="x")
        assert VERSION_TABLE not in inspect(engine).get_table_names()
        upgrade(engine)
        assert _revision(engine) == head_revision()
        with engine.connect() as conn:
            assert conn.execute(select(documents.c.deal_id)).scalars().all() == ["7"]
    finally:
        engine.dispose()


def test_the_cli_upgrades_and_inits_twice(empty_url: str, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ESIGN_DATABASE_URL", empty_url)
    monkeypatch.setenv("ESIGN_PROJECT_DIR", str(PROJECT_DIR))
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "init"]) == 0
    out = capsys.readouterr().out
    assert f"ledger at revision {head_revision()} (head)" in out
    assert "postgres@" not in out  # no credentials in the output
    engine = make_engine(empty_url)
    try:
        assert _revision(engine) == head_revision()
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_concurrent_upgrades_from_several_processes_migrate_once() -> None:
    code = ("import sys; from esign.store import make_engine; from esign.store.migrations import upgrade; "
            "print(upgrade(make_engine(sys.argv[1])))")
    with throwaway_database("esign_migr") as url:
        procs = [subprocess.Popen([sys.executable, "-c", code, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, cwd=PROJECT_DIR, env=dict(os.environ)) for _ in range(4)]
        results = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0, 0], [err[-2000:] for _, err in results]
        assert {out.strip() for out, _ in results} == {head_revision()}
        engine = make_engine(url)
        try:
            assert _revision(engine) == head_revision()
            assert_no_drift(engine)
        finally:
            engine.dispose()


def test_an_unreachable_database_is_a_store_error_naming_it() -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    try:
        with pytest.raises(StoreError, match=r"cannot migrate the ledger schema in .*127\.0\.0\.1:1/none"):
            upgrade(engine)
    finally:
        engine.dispose()


def test_the_cli_reports_an_unreachable_database(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ESIGN_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    assert main(["db", "upgrade"]) == 1
    assert "cannot migrate the ledger schema" in capsys.readouterr().err
