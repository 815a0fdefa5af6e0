"""Bulk reads and writes of the ledger: a batch of documents in a few statements instead of a few per document.

A bulk run spends most of its non-rendering time in short transactions (SQLite commits, PostgreSQL round trips).
These methods keep the guarantees of their one-by-one counterparts in :class:`~esign.store.ledger.Ledger` —
creation idempotent on (crm, deal, template, round), a version recorded once, every stage move conditional with
its event in the same transaction — and fall back to those counterparts when a concurrent writer got there first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, select, text
from sqlalchemy.exc import IntegrityError

from esign.errors import StoreError
from esign.model import SignatureSlot, SignerSpec, Stage, can_move
from esign.store.records import (
    LOCK_NAMESPACE,
    DocumentRecord,
    EventInfo,
    EventRecord,
    VersionRecord,
    new_document_id,
)
from esign.store.schema import document_versions, documents, events

if TYPE_CHECKING:
    from esign.store.ledger import Ledger

#: Rows per IN (...) list: well under SQLite's and PostgreSQL's parameter limits.
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class NewDocument:
    """What ``create_documents`` needs for one document (the fields of ``Ledger.create_document``)."""

    deal_id: str
    template_id: str
    title: str
    counterparty_name: str = ""
    counterparty_tax_id: str = ""
    counterparty_email: str = ""
    counterparty_phone: str = ""
    counterparty_contact: str = ""
    language: str = ""
    manager_email: str = ""
    crm: str = "local"
    round_: int = 1
    batch_id: str | None = None
    manager_id: str | None = None
    stage: Stage = Stage.DRAFT
    reason: str | None = None
    actor: str = "pipeline"
    note: str = ""  # on the first event of a draft: what validation noticed without stopping it
    signers: tuple[SignerSpec, ...] = ()  # arranged (esign.model.signers.arrange); empty: the counterparty alone


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A version file written to disk, to be recorded (with the document's signature slots, for a rendering)."""

    document_id: str
    sha256: str
    path: str
    size: int
    slots: tuple[SignatureSlot, ...] | None = None


def document_values(doc: NewDocument, doc_id: str, now: datetime) -> dict[str, Any]:
    """The ``documents`` row for a new document: the one place its columns are cut to size."""
    return dict(
        id=doc_id, crm=doc.crm, deal_id=doc.deal_id, template_id=doc.template_id, round=doc.round_,
        batch_id=doc.batch_id, title=doc.title[:300], counterparty_name=doc.counterparty_name[:300],
        counterparty_tax_id=doc.counterparty_tax_id[:40], counterparty_email=doc.counterparty_email[:320],
        counterparty_phone=doc.counterparty_phone[:40], counterparty_contact=doc.counterparty_contact[:200],
        language=doc.language[:20], manager_email=doc.manager_email[:320],
        manager_id=doc.manager_id, stage=doc.stage.value,
        reason=doc.reason, slots_json="[]", created_at=now, updated_at=now,
        signers_json=json.dumps([signer.to_dict() for signer in doc.signers], ensure_ascii=False),
    )


def chunks(items: Sequence[str], size: int = _CHUNK) -> Iterator[list[str]]:
    """``items`` in lists of at most ``size``; by default 500, under every driver's bound-parameter limit."""
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


class BulkLedger:
    """``ledger.bulk``: the batch forms of the ledger's reads and writes; its one-by-one methods are the fallback."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self.engine = ledger.engine

    # -- reads -------------------------------------------------------------------------------------
    def latest_for_deals(self, *, crm: str, template_id: str, deal_ids: Sequence[str]) -> dict[str, DocumentRecord]:
        """The newest round of each deal's document for a template, by deal ID (deals without one are absent)."""
        latest: dict[str, DocumentRecord] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(list(dict.fromkeys(deal_ids))):
                query = select(documents).where(documents.c.crm == crm, documents.c.template_id == template_id,
                                                documents.c.deal_id.in_(chunk))
                for row in conn.execute(query):
                    record = DocumentRecord.from_row(row)
                    known = latest.get(record.deal_id)
                    if known is None or record.round > known.round:
                        latest[record.deal_id] = record
        return latest

    def get_many(self, document_ids: Sequence[str]) -> dict[str, DocumentRecord]:
        """The documents that exist among ``document_ids``, as they are now, by ID in ID order."""
        found: dict[str, DocumentRecord] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(list(document_ids)):
                rows = conn.execute(select(documents).where(documents.c.id.in_(chunk)).order_by(documents.c.id))
                found.update((r.id, r) for r in map(DocumentRecord.from_row, rows))
        return dict(sorted(found.items()))

    def versions_for(self, document_ids: Sequence[str], kind: str) -> dict[str, VersionRecord]:
        """The ``kind`` version of each document that has one, by document ID."""
        found: dict[str, VersionRecord] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(list(document_ids)):
                query = select(document_versions).where(document_versions.c.kind == kind,
                                                        document_versions.c.document_id.in_(chunk))
                found.update((v.document_id, v) for v in map(VersionRecord.from_row, conn.execute(query)))
        return found

    def events_for(self, document_ids: Sequence[str]) -> dict[str, list[EventRecord]]:
        """Each document's events, oldest first, by document ID (a document without events is absent)."""
        found: dict[str, list[EventRecord]] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(list(document_ids)):
                query = select(events).where(events.c.document_id.in_(chunk)).order_by(events.c.id)
                for event in map(EventRecord.from_row, conn.execute(query)):
                    found.setdefault(event.document_id, []).append(event)
        return found

    # -- writes ------------------------------------------------------------------------------------
    def create_documents(self, new: Sequence[NewDocument]) -> list[tuple[DocumentRecord, bool]]:
        """Create many documents (and their first events) in one transaction; ``(record, created)`` each, in order.

        If any of them exists already (another worker created it meanwhile), nothing of the bulk insert is kept
        and each is created on its own, which returns the existing one: the result is the same either way.
        """
        if not new:
            return []
        if len({(d.crm, d.deal_id, d.template_id, d.round_) for d in new}) != len(new):
            raise StoreError("the same deal, template and round twice in one bulk create")
        for doc in new:
            if doc.stage not in (Stage.DRAFT, Stage.QUARANTINED):
                raise StoreError(f"a new document starts as draft or quarantined, not {doc.stage}")
        now = self._ledger.now()
        rows = [document_values(doc, new_document_id(), now) for doc in new]
        firsts = [_first_event(doc, row["id"], now) for doc, row in zip(new, rows, strict=True)]
        try:
            with self.engine.begin() as conn:
                conn.execute(documents.insert(), rows)
                conn.execute(events.insert(), firsts)
        except IntegrityError:
            return [self._ledger.create_document(**create_arguments(doc)) for doc in new]
        return [(DocumentRecord.from_mapping(row), True) for row in rows]

    def record_files(self, files: Sequence[StoredFile], kind: str) -> None:
        """Record many stored files of one kind (and, for renderings, their slots) in one transaction.

        A file already recorded with the same SHA-256 is skipped; a different one is a StoreError, as in
        ``add_version``. A concurrent writer racing on the same rows sends the whole chunk through the
        one-by-one path, which tells the two cases apart.
        """
        if not files:
            return
        todo = self._unrecorded(files, kind)
        try:
            with self.engine.begin() as conn:
                self._insert_files(conn, todo, kind)
        except IntegrityError:
            for f in todo:
                if f.slots is not None:
                    self._ledger.set_slots(f.document_id, f.slots)
                self._ledger.add_version(f.document_id, kind, sha256=f.sha256, path=f.path, size=f.size)

    def record_files_and_move(self, files: Sequence[StoredFile], kind: str, moves: Sequence[str], source: Stage,
                              target: Stage, action: str, actor: str, detail: str) -> list[str]:
        """Record ``files`` (as ``record_files``) and move ``moves`` from source to target, one transaction.

        The moves are conditional (``stage = source``), one event each, in ID order like ``move_many``; the IDs
        moved are returned (a document moved by someone else meanwhile is skipped, never moved twice).
        """
        if not can_move(source, target):
            raise StoreError(f"cannot move from {source} to {target}")
        todo = self._unrecorded(files, kind)
        info = EventInfo(actor=actor, detail=detail)
        try:
            with self.engine.begin() as conn:
                self._insert_files(conn, todo, kind)
                moved = conditional_moves(conn, dict.fromkeys(moves, info), source, target, action,
                                          self._ledger.now())
        except IntegrityError:
            # a concurrent writer recorded one of the files: record each on its own, then move as move_many does
            for f in todo:
                self._ledger.add_version(f.document_id, kind, sha256=f.sha256, path=f.path, size=f.size)
            return self.record_files_and_move((), kind, moves, source, target, action, actor, detail)
        return moved

    def log_many(self, entries: Sequence[tuple[str, str, EventInfo]]) -> None:
        """Append many events that do not change a stage, ``(document ID, action, info)`` each, in one transaction."""
        if not entries:
            return
        now = self._ledger.now()
        with self.engine.begin() as conn:
            conn.execute(events.insert(), [event_row(doc_id, action, None, info, now)
                                           for doc_id, action, info in entries])

    def _unrecorded(self, files: Sequence[StoredFile], kind: str) -> list[StoredFile]:
        """The files not yet recorded; a StoreError if one is recorded with another SHA-256 (as ``add_version``)."""
        current = self.versions_for([f.document_id for f in files], kind)
        for f in files:
            known = current.get(f.document_id)
            if known is not None and known.sha256 != f.sha256:
                raise StoreError(f"document {f.document_id} already has a different {kind} version")
        return [f for f in files if f.document_id not in current]

    def _insert_files(self, conn: Connection, files: Sequence[StoredFile], kind: str) -> None:
        if not files:
            return
        now = self._ledger.now()
        conn.execute(document_versions.insert(), [
            dict(document_id=f.document_id, kind=kind, sha256=f.sha256, path=f.path, size=f.size, created_at=now)
            for f in files])
        slotted = [f for f in files if f.slots is not None]
        if slotted:
            conn.execute(documents.update().where(documents.c.id == bindparam("doc_id"))
                         .values(slots_json=bindparam("slots")),
                         [{"doc_id": f.document_id, "slots": json.dumps([s.to_dict() for s in f.slots or ()])}
                          for f in slotted])

    @contextmanager
    def exclusive_many(self, document_ids: Sequence[str]) -> Iterator[set[str]]:
        """The documents this process may work on now (those no other process holds), as ``exclusive`` per ID.

        PostgreSQL: session advisory locks taken and released in one statement each. SQLite: all of them.
        """
        wanted = list(dict.fromkeys(document_ids))
        if self.engine.dialect.name != "postgresql" or not wanted:
            yield set(wanted)
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            got: set[str] = set()
            try:
                for chunk in chunks(wanted):
                    got.update(r[0] for r in conn.execute(
                        text("SELECT d FROM unnest(CAST(:ids AS text[])) AS d "
                             "WHERE pg_try_advisory_lock(:ns, hashtext(d))"), {"ids": chunk, "ns": LOCK_NAMESPACE}))
                yield got
            finally:
                held = sorted(got)
                for chunk in chunks(held):
                    conn.execute(text("SELECT pg_advisory_unlock(:ns, hashtext(d)) FROM unnest(CAST(:ids AS text[])) "
                                      "AS d"), {"ids": chunk, "ns": LOCK_NAMESPACE})


def _first_event(doc: NewDocument, doc_id: str, now: datetime) -> dict[str, Any]:
    action = "created" if doc.stage is Stage.DRAFT else "quarantined"
    return event_row(doc_id, action, doc.stage, EventInfo(actor=doc.actor, detail=doc.reason or doc.note), now)


def event_row(document_id: str, action: str, stage: Stage | None, info: EventInfo, at: datetime) -> dict[str, object]:
    """An ``events`` row; the one place its columns are cut to size."""
    return dict(
        document_id=document_id, at=at, action=action, stage=stage.value if stage else None,
        actor=info.actor[:200], channel=info.channel[:20], ip=info.ip[:64], user_agent=info.user_agent[:1000],
        detail=info.detail,
    )


def conditional_moves(conn: Connection, infos: dict[str, EventInfo], source: Stage, target: Stage, action: str,
                      now: datetime) -> list[str]:
    """Move each document still at ``source`` to ``target`` with its event, in ID order (two overlapping batches
    cannot deadlock on PostgreSQL); a document moved by someone else meanwhile is skipped. The IDs moved."""
    stmt = (documents.update()
            .where(documents.c.id == bindparam("doc_id"), documents.c.stage == source.value)
            .values(stage=target.value, updated_at=now))
    moved = [doc_id for doc_id in sorted(infos) if conn.execute(stmt, {"doc_id": doc_id}).rowcount == 1]
    if moved:
        conn.execute(events.insert(), [event_row(doc_id, action, target, infos[doc_id], now) for doc_id in moved])
    return moved


def create_arguments(doc: NewDocument) -> dict[str, Any]:
    """``Ledger.create_document``'s keyword arguments for a new document (the one-by-one fallback)."""
    return dict(deal_id=doc.deal_id, template_id=doc.template_id, title=doc.title,
                counterparty_name=doc.counterparty_name, counterparty_tax_id=doc.counterparty_tax_id,
                counterparty_email=doc.counterparty_email, counterparty_phone=doc.counterparty_phone,
                counterparty_contact=doc.counterparty_contact, language=doc.language,
                manager_email=doc.manager_email, crm=doc.crm,
                round_=doc.round_, batch_id=doc.batch_id, manager_id=doc.manager_id, stage=doc.stage,
                reason=doc.reason, info=EventInfo(actor=doc.actor, detail=doc.note), signers=doc.signers)


def with_slots(record: DocumentRecord, slots: Sequence[SignatureSlot]) -> DocumentRecord:
    return replace(record, slots=tuple(slots))
