"""Searching the ledger's documents for the register, always narrowed to what the person may view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Engine, false, or_, select

from esign.store import DocumentRecord
from esign.store.records import as_utc
from esign.store.schema import documents

PAGE = 100


@dataclass(frozen=True, slots=True)
class DocumentFilter:
    """Every field optional; text fields match exactly except ``counterparty`` (name or tax ID contains)."""

    stage: str = ""
    deal: str = ""
    counterparty: str = ""
    manager: str = ""
    template: str = ""
    batch: str = ""
    created_from: date | None = None
    created_to: date | None = None  # inclusive


def search(engine: Engine, filters: DocumentFilter, scope: frozenset[str] | None, *, limit: int = PAGE,
           offset: int = 0) -> list[DocumentRecord]:
    """Matching documents, newest first; ``scope`` are the responsible managers visible (None: all)."""
    query = select(documents)
    if scope is not None:
        query = query.where(documents.c.manager_id.in_(sorted(scope)) if scope else false())
    exact = {"stage": documents.c.stage, "deal": documents.c.deal_id, "manager": documents.c.manager_id,
             "template": documents.c.template_id, "batch": documents.c.batch_id}
    for name, column in exact.items():
        value = getattr(filters, name).strip()
        if value:
            query = query.where(column == value)
    if filters.counterparty.strip():
        pattern = f"%{filters.counterparty.strip().lower()}%"
        query = query.where(or_(documents.c.counterparty_name.ilike(pattern),
                                documents.c.counterparty_tax_id.ilike(pattern)))
    if filters.created_from:
        query = query.where(documents.c.created_at >= _start(filters.created_from))
    if filters.created_to:
        query = query.where(documents.c.created_at < _start(filters.created_to) + timedelta(days=1))
    query = query.order_by(documents.c.created_at.desc(), documents.c.id).limit(limit).offset(offset)
    with engine.connect() as conn:
        return [DocumentRecord.from_row(r) for r in conn.execute(query)]


def _start(day: date) -> datetime:
    return as_utc(datetime.combine(day, time.min))
