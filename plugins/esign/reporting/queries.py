"""Named metric queries (``sql/metrics/*.sql``) loaded into pandas DataFrames.

The SQL files are the single definition of each metric and run unchanged on SQLite and PostgreSQL, so an
analyst can read or reuse them. A file may declare, in leading comments, tables it ``requires`` and a
``fallback`` query to run when they are absent (the embedded CRM's tables exist only with the local CRM).
Parameters are always bound (``:since``, ``:until``, ``:run_id``), never formatted into the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import DateTime, Engine, String, bindparam, inspect, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.types import TypeEngine

from esign.errors import EsignError

#: ``sql/metrics`` of the project checkout (the package is installed editable from ``plugins/``).
SQL_DIR = Path(__file__).resolve().parents[3] / "sql" / "metrics"

_PARAM_TYPES: dict[str, TypeEngine[Any]] = {
    "since": DateTime(timezone=True), "until": DateTime(timezone=True), "run_id": String()}
_PARAM = re.compile(r"(?<![:\w]):(\w+)")
_HEADER = re.compile(r"^--\s*(requires|fallback):\s*(.+)$")


class ReportError(EsignError):
    """A report cannot be produced: unknown metric, missing parameter, unreadable database, failed notebook."""


@dataclass(frozen=True, slots=True)
class MetricQuery:
    """One ``.sql`` file: its text, the parameters it binds and its table requirements."""

    name: str
    sql: str
    params: frozenset[str]
    requires: tuple[str, ...] = ()
    fallback: str | None = None


@cache
def _catalog(sql_dir: Path) -> dict[str, MetricQuery]:
    queries: dict[str, MetricQuery] = {}
    for path in sorted(sql_dir.glob("*.sql")):
        sql = path.read_text(encoding="utf-8")
        headers: dict[str, str] = {}
        for line in sql.splitlines():
            if match := _HEADER.match(line.strip()):
                headers[match.group(1)] = match.group(2).strip()
        body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
        queries[path.stem] = MetricQuery(
            name=path.stem, sql=sql, params=frozenset(_PARAM.findall(body)),
            requires=tuple(headers.get("requires", "").split()), fallback=headers.get("fallback"),
        )
    return queries


def metric_names() -> list[str]:
    """Every metric query the project ships, sorted by name."""
    return sorted(_catalog(SQL_DIR))


def get_query(name: str) -> MetricQuery:
    """The named query, or a :class:`ReportError` listing the known names."""
    catalog = _catalog(SQL_DIR)
    if name not in catalog:
        raise ReportError(f"unknown metric {name!r}; known metrics: {', '.join(sorted(catalog))}")
    return catalog[name]


def as_utc(value: datetime) -> datetime:
    """Aware UTC datetimes only: a naive value is taken as UTC (the ledger stores UTC everywhere)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def load_metric(engine: Engine, name: str, since: datetime | None = None, until: datetime | None = None,
                *, run_id: str | None = None) -> pd.DataFrame:
    """Run the metric ``name`` for ``[since, until)`` (or one ``run_id``) and return its rows.

    Columns named ``at`` or ``*_at`` are parsed to UTC timestamps, whichever database returned them.
    """
    query = get_query(name)
    if query.requires and not _has_tables(engine, query.requires):
        if query.fallback is None:
            raise ReportError(f"metric {name!r} needs tables {', '.join(query.requires)}, which do not exist")
        return load_metric(engine, query.fallback, since, until, run_id=run_id)
    values: dict[str, object] = {}
    for param, value in (("since", since), ("until", until), ("run_id", run_id)):
        if param not in query.params:
            continue
        if value is None:
            raise ReportError(f"metric {name!r} needs the parameter {param!r}")
        values[param] = as_utc(value) if isinstance(value, datetime) else value
    if since is not None and until is not None and as_utc(since) >= as_utc(until):
        raise ReportError(f"empty period: since ({since.isoformat()}) is not before until ({until.isoformat()})")
    statement = text(query.sql).bindparams(*(bindparam(p, type_=_PARAM_TYPES[p]) for p in sorted(values)))
    try:
        with engine.connect() as conn:
            result = conn.execute(statement, values)
            frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    except SQLAlchemyError as exc:
        detail = exc.orig if isinstance(exc, DBAPIError) else exc
        raise ReportError(f"metric {name!r} failed: {exc.__class__.__name__}: {detail}") from exc
    return _typed(frame)


def _has_tables(engine: Engine, tables: tuple[str, ...]) -> bool:
    try:
        existing = set(inspect(engine).get_table_names())
    except SQLAlchemyError as exc:
        raise ReportError(f"cannot read the database's tables: {exc}") from exc
    return all(t in existing for t in tables)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for column in frame.columns:
        if column == "at" or column.endswith("_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame
