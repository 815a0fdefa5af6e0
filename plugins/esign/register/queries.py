"""Searching the ledger's documents for the register, always narrowed to what the person may view.

Pages are cut in the database (a total count plus one page), so the register works the same with a hundred
documents or a million. The export walks every match with a keyset (created_at, id) instead of an offset.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Engine, Select, and_, false, func, or_, select, true

from esign.model import Stage
from esign.pipeline.schema import batches
from esign.register import folding
from esign.store import DocumentRecord
from esign.store.records import as_utc
from esign.store.schema import documents

_TAX_MARKS = str.maketrans("", "", ".-/ ")


@dataclass(frozen=True, slots=True)
class DocumentFilter:
    """Every field optional. ``text`` matches names and titles (accents and case ignored), a document or deal ID
    exactly, and a CPF/CNPJ by its digits (only on documents whose parties the person may see)."""

    text: str = ""
    stages: tuple[Stage, ...] = ()
    deal: str = ""
    manager: str = ""
    template: str = ""
    run: str = ""  # every batch of one run
    batch: str = ""  # one batch
    created_from: datetime | None = None  # inclusive, UTC
    created_until: datetime | None = None  # exclusive, UTC


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose documents the person may view, and whose parties' data (CPF/CNPJ) they may search by.

    ``None``: every manager's (level ``all``); a set: those responsible managers' deals only."""

    view: frozenset[str] | None
    parties: frozenset[str] | None = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    started_at: datetime


def _in_scope(scope: frozenset[str] | None) -> ColumnElement[bool]:
    if scope is None:
        return true()
    if not scope:
        return false()
    return documents.c.manager_id.in_(sorted(scope))


def _digits(column: ColumnElement[str]) -> ColumnElement[str]:
    """The column without the punctuation of a CPF/CNPJ (``12.345.678/0001-90`` -> ``12345678000190``)."""
    expression: ColumnElement[str] = column
    for mark in (".", "-", "/", " "):
        expression = func.replace(expression, mark, "")
    return expression


def _text_match(text: str, scope: Scope) -> ColumnElement[bool]:
    words = text.strip()
    conditions = [folding.contains(documents.c.counterparty_name, words),
                  folding.contains(documents.c.title, words),
                  documents.c.id == words.upper(), documents.c.deal_id == words]
    digits = words.translate(_TAX_MARKS)
    if len(digits) >= 3 and digits.isdigit():
        conditions.append(and_(_digits(documents.c.counterparty_tax_id).like(f"%{digits}%"),
                               _in_scope(scope.parties)))
    return or_(*conditions)


_Q = TypeVar("_Q", bound=Select[Any])


def _where(query: _Q, filters: DocumentFilter, scope: Scope) -> _Q:
    query = query.where(_in_scope(scope.view))
    if filters.stages:
        query = query.where(documents.c.stage.in_([s.value for s in filters.stages]))
    exact = {"deal": documents.c.deal_id, "manager": documents.c.manager_id, "template": documents.c.template_id,
             "batch": documents.c.batch_id}
    for name, column in exact.items():
        value = getattr(filters, name).strip()
        if value:
            query = query.where(column == value)
    if filters.run.strip():
        query = query.where(documents.c.batch_id.in_(select(batches.c.id).where(batches.c.run_id == filters.run)))
    if filters.text.strip():
        query = query.where(_text_match(filters.text, scope))
    if filters.created_from:
        query = query.where(documents.c.created_at >= filters.created_from)
    if filters.created_until:
        query = query.where(documents.c.created_at < filters.created_until)
    return query


def search(engine: Engine, filters: DocumentFilter, scope: Scope, *, limit: int, offset: int = 0,
           ) -> list[DocumentRecord]:
    """One page of matching documents, newest first."""
    query = _where(select(documents), filters, scope)
    query = query.order_by(documents.c.created_at.desc(), documents.c.id).limit(limit).offset(offset)
    with engine.connect() as conn:
        folding.prepare(conn)
        return [DocumentRecord.from_row(r) for r in conn.execute(query)]


def count(engine: Engine, filters: DocumentFilter, scope: Scope) -> int:
    query = _where(select(func.count()).select_from(documents), filters, scope)
    with engine.connect() as conn:
        folding.prepare(conn)
        return int(conn.execute(query).scalar_one())


def every_match(engine: Engine, filters: DocumentFilter, scope: Scope, chunk: int = 1000,
                ) -> Iterator[DocumentRecord]:
    """All matching documents, newest first, read ``chunk`` at a time (keyset paging: stable and cheap)."""
    after: tuple[datetime, str] | None = None
    while True:
        query = _where(select(documents), filters, scope)
        if after is not None:
            at, doc_id = after
            query = query.where(or_(documents.c.created_at < at,
                                    and_(documents.c.created_at == at, documents.c.id > doc_id)))
        query = query.order_by(documents.c.created_at.desc(), documents.c.id).limit(chunk)
        with engine.connect() as conn:
            folding.prepare(conn)
            rows = conn.execute(query).all()
        for row in rows:
            yield DocumentRecord.from_row(row)
        if len(rows) < chunk:
            return
        after = (rows[-1].created_at, rows[-1].id)


def managers_in_scope(engine: Engine, scope: Scope) -> list[str]:
    """IDs of the responsible managers of the documents the person may view (for the filter)."""
    query = select(documents.c.manager_id).where(_in_scope(scope.view), documents.c.manager_id.is_not(None))
    with engine.connect() as conn:
        return sorted({str(r[0]) for r in conn.execute(query.distinct())})


def templates_in_scope(engine: Engine, scope: Scope) -> list[str]:
    query = select(documents.c.template_id).where(_in_scope(scope.view)).distinct()
    with engine.connect() as conn:
        return sorted(str(r[0]) for r in conn.execute(query))


def recent_runs(engine: Engine, limit: int = 100) -> list[RunInfo]:
    """The latest send runs, newest first, with the time their first batch was planned."""
    started = func.min(batches.c.created_at)
    query = select(batches.c.run_id, started).group_by(batches.c.run_id).order_by(started.desc()).limit(limit)
    with engine.connect() as conn:
        return [RunInfo(str(r[0]), as_utc(r[1])) for r in conn.execute(query)]


def batch_runs(engine: Engine, batch_ids: Sequence[str]) -> dict[str, RunInfo]:
    """Each batch's run and the time the batch was planned."""
    wanted = sorted({b for b in batch_ids if b})
    if not wanted:
        return {}
    found: dict[str, RunInfo] = {}
    with engine.connect() as conn:
        for start in range(0, len(wanted), 500):
            query = select(batches.c.id, batches.c.run_id, batches.c.created_at).where(
                batches.c.id.in_(wanted[start:start + 500]))
            found.update({str(r[0]): RunInfo(str(r[1]), as_utc(r[2])) for r in conn.execute(query)})
    return found
