"""The ledger: documents, versions and the append-only event log, with every stage move checked.

Each write is one short transaction, or part of the caller's when it passes its connection (a signing request
closed and its document moved commit together). Creating a document is idempotent on (crm, deal, template,
round), and a stage move is a conditional UPDATE plus its event in the same transaction, so two workers racing
on the same document cannot both move it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import IntegrityError

from esign.errors import StoreError
from esign.model import SignatureSlot, SignerSpec, Stage, can_move
from esign.store.bulk import BulkLedger, NewDocument, chunks, conditional_moves, document_values, event_row
from esign.store.records import (
    DocumentRecord,
    EventInfo,
    EventRecord,
    VersionRecord,
    new_document_id,
)
from esign.store.schema import document_versions, documents, events


def utcnow() -> datetime:
    return datetime.now(UTC)


class Ledger:
    """Reads and writes the ledger tables through one SQLAlchemy engine."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self._clock = clock
        #: The same reads and writes for many documents at once (bulk runs).
        self.bulk = BulkLedger(self)

    def now(self) -> datetime:
        return self._clock()

    # -- documents ---------------------------------------------------------------------------------
    def create_document(
        self,
        *,
        deal_id: str,
        template_id: str,
        title: str,
        counterparty_name: str = "",
        counterparty_tax_id: str = "",
        counterparty_email: str = "",
        counterparty_phone: str = "",
        counterparty_contact: str = "",
        language: str = "",
        manager_email: str = "",
        crm: str = "local",
        round_: int = 1,
        batch_id: str | None = None,
        manager_id: str | None = None,
        stage: Stage = Stage.DRAFT,
        reason: str | None = None,
        info: EventInfo | None = None,
        document_id: str | None = None,
        signers: tuple[SignerSpec, ...] = (),
    ) -> tuple[DocumentRecord, bool]:
        """Create the document for a deal+template, or return the one that exists (``created`` False)."""
        if stage not in (Stage.DRAFT, Stage.QUARANTINED):
            raise StoreError(f"a new document starts as draft or quarantined, not {stage}")
        existing = self.find(crm=crm, deal_id=deal_id, template_id=template_id, round_=round_)
        if existing is not None:
            return existing, False
        now = self._clock()
        doc_id = document_id or new_document_id()
        info = info or EventInfo(actor="pipeline")
        try:
            with self.engine.begin() as conn:
                conn.execute(documents.insert().values(**document_values(NewDocument(
                    deal_id=deal_id, template_id=template_id, title=title, counterparty_name=counterparty_name,
                    counterparty_tax_id=counterparty_tax_id, counterparty_email=counterparty_email,
                    counterparty_phone=counterparty_phone, counterparty_contact=counterparty_contact,
                    language=language, manager_email=manager_email, crm=crm, round_=round_, batch_id=batch_id,
                    manager_id=manager_id, stage=stage, reason=reason, signers=signers), doc_id, now)))
                self._insert_event(conn, doc_id, "created" if stage is Stage.DRAFT else "quarantined",
                                   stage, info if reason is None else _with_detail(info, reason), now)
        except IntegrityError:
            found = self.find(crm=crm, deal_id=deal_id, template_id=template_id, round_=round_)
            if found is None:
                raise
            return found, False
        return self.get(doc_id), True

    def find(self, *, crm: str, deal_id: str, template_id: str, round_: int = 1) -> DocumentRecord | None:
        query = select(documents).where(
            documents.c.crm == crm, documents.c.deal_id == deal_id,
            documents.c.template_id == template_id, documents.c.round == round_,
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return DocumentRecord.from_row(row) if row else None

    def latest_for_deal(self, *, crm: str, deal_id: str, template_id: str) -> DocumentRecord | None:
        """The newest round of a deal's document for a template (a deal may be re-sent after a decline)."""
        query = (select(documents).where(documents.c.crm == crm, documents.c.deal_id == deal_id,
                                         documents.c.template_id == template_id)
                 .order_by(documents.c.round.desc()).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return DocumentRecord.from_row(row) if row else None

    def list_batch(self, batch_id: str, stages: Sequence[Stage] = ()) -> list[DocumentRecord]:
        """Documents of one batch (optionally only in ``stages``), in ID order."""
        query = select(documents).where(documents.c.batch_id == batch_id).order_by(documents.c.id)
        if stages:
            query = query.where(documents.c.stage.in_([s.value for s in stages]))
        with self.engine.connect() as conn:
            return [DocumentRecord.from_row(r) for r in conn.execute(query)]

    def get(self, document_id: str, *, conn: Connection | None = None) -> DocumentRecord:
        """The document; ``conn``: read inside the caller's transaction (it sees the caller's own writes)."""
        query = select(documents).where(documents.c.id == document_id)
        if conn is not None:
            row = conn.execute(query).first()
        else:
            with self.engine.connect() as own:
                row = own.execute(query).first()
        if row is None:
            raise StoreError(f"unknown document {document_id!r}")
        return DocumentRecord.from_row(row)

    def maybe_get(self, document_id: str) -> DocumentRecord | None:
        try:
            return self.get(document_id)
        except StoreError:
            return None

    def set_slots(self, document_id: str, slots: Sequence[SignatureSlot]) -> None:
        payload = json.dumps([s.to_dict() for s in slots])
        with self.engine.begin() as conn:
            conn.execute(documents.update().where(documents.c.id == document_id).values(slots_json=payload))

    def list_by_stage(self, stage: Stage, *, limit: int = 1000, after_id: str = "",
                      upto_id: str | None = None) -> list[DocumentRecord]:
        """Documents in ``stage`` with ``after_id < id <= upto_id``, in ID order, at most ``limit``."""
        query = (select(documents).where(documents.c.stage == stage.value, documents.c.id > after_id)
                 .order_by(documents.c.id).limit(limit))
        if upto_id is not None:
            query = query.where(documents.c.id <= upto_id)
        with self.engine.connect() as conn:
            return [DocumentRecord.from_row(r) for r in conn.execute(query)]

    def stage_counts(self) -> dict[str, int]:
        query = select(documents.c.stage, func.count()).group_by(documents.c.stage)
        with self.engine.connect() as conn:
            return {stage: int(count) for stage, count in conn.execute(query)}

    # -- versions ----------------------------------------------------------------------------------
    def add_version(self, document_id: str, kind: str, *, sha256: str, path: str, size: int) -> VersionRecord:
        """Record a stored file. Recording the same file twice is a no-op; a different one is an error."""
        current = self.version(document_id, kind)
        if current is not None:
            if current.sha256 != sha256:
                raise StoreError(f"document {document_id} already has a different {kind} version")
            return current
        try:
            with self.engine.begin() as conn:
                conn.execute(document_versions.insert().values(
                    document_id=document_id, kind=kind, sha256=sha256, path=path, size=size,
                    created_at=self._clock(),
                ))
        except IntegrityError:
            pass  # a concurrent writer recorded it; the check below tells whether it is the same file
        stored = self.version(document_id, kind)
        if stored is None or stored.sha256 != sha256:
            raise StoreError(f"document {document_id} already has a different {kind} version")
        return stored

    def version(self, document_id: str, kind: str) -> VersionRecord | None:
        query = select(document_versions).where(
            document_versions.c.document_id == document_id, document_versions.c.kind == kind)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return VersionRecord.from_row(row) if row else None

    def versions(self, document_id: str) -> list[VersionRecord]:
        query = (select(document_versions).where(document_versions.c.document_id == document_id)
                 .order_by(document_versions.c.id))
        with self.engine.connect() as conn:
            return [VersionRecord.from_row(r) for r in conn.execute(query)]

    def versions_by_sha256(self, sha256: str) -> list[VersionRecord]:
        query = select(document_versions).where(document_versions.c.sha256 == sha256)
        with self.engine.connect() as conn:
            return [VersionRecord.from_row(r) for r in conn.execute(query)]

    def touch(self, document_id: str, *, conn: Connection) -> None:
        """Lock the document's row until the caller's transaction ends (an UPDATE that changes nothing): answers of
        several signers of one document are then judged one after the other. SQLite serialises writers anyway."""
        conn.execute(documents.update().where(documents.c.id == document_id)
                     .values(updated_at=documents.c.updated_at))

    # -- events ------------------------------------------------------------------------------------
    def move(self, document_id: str, target: Stage, action: str, info: EventInfo | None = None,
             *, reason: str | None = None, conn: Connection | None = None) -> bool:
        """Move a document to ``target`` and log the event. False when it is already there (a re-run).

        ``conn``: run inside the caller's transaction, so the caller's own writes (a signing request closed, say)
        and this move with its event commit or roll back together; without it the move is a transaction of its
        own. A StoreError raised here leaves the caller's transaction usable: it comes from a check, not the driver.
        """
        if conn is None:
            with self.engine.begin() as own:
                return self.move(document_id, target, action, info, reason=reason, conn=own)
        info = info or EventInfo()
        now = self._clock()
        # FOR UPDATE: a concurrent move of the same document waits here and then sees the new stage
        row = conn.execute(select(documents.c.stage).where(documents.c.id == document_id)
                           .with_for_update()).first()
        if row is None:
            raise StoreError(f"unknown document {document_id!r}")
        current = Stage(row[0])
        if current is target:
            return False
        if not can_move(current, target):
            raise StoreError(f"document {document_id}: cannot move from {current} to {target}")
        values: dict[str, object] = {"stage": target.value, "updated_at": now}
        if reason is not None:
            values["reason"] = reason
        result = conn.execute(documents.update()
                              .where(documents.c.id == document_id, documents.c.stage == current.value)
                              .values(**values))
        if result.rowcount != 1:
            raise StoreError(f"document {document_id}: moved by someone else while moving to {target}")
        self._insert_event(conn, document_id, action, target, info, now)
        return True

    def move_many(self, moves: Sequence[tuple[str, EventInfo]], source: Stage, target: Stage,
                  action: str) -> list[str]:
        """Move many documents from ``source`` to ``target`` in one transaction, one event each; the IDs moved.

        Each move is the same conditional UPDATE as ``move`` (``stage = source``) with its event in the same
        transaction: a document another worker moved meanwhile (or already at ``target``) is skipped, never
        moved twice. Rows are updated in ID order, so two overlapping batches cannot deadlock on PostgreSQL.
        """
        if not can_move(source, target):
            raise StoreError(f"cannot move from {source} to {target}")
        if not moves:
            return []
        infos = dict(moves)
        if len(infos) != len(moves):
            raise StoreError("the same document twice in one move")
        with self.engine.begin() as conn:
            return conditional_moves(conn, infos, source, target, action, self._clock())

    def existing_ids(self, document_ids: Sequence[str]) -> set[str]:
        """Which of these document IDs exist (one query per 500)."""
        found: set[str] = set()
        with self.engine.connect() as conn:
            for chunk in chunks(document_ids):
                found.update(r[0] for r in conn.execute(select(documents.c.id).where(documents.c.id.in_(chunk))))
        return found

    @contextmanager
    def exclusive(self, document_id: str) -> Iterator[bool]:
        """Whether this process may work on the document now: False while another process holds it.

        For steps that write a file before recording it (signing, sealing): two workers signing the same draft
        would produce two different files for one version. PostgreSQL: a session advisory lock, released at the
        end or when the process dies. SQLite (one embedded process): always True.
        """
        with self.bulk.exclusive_many([document_id]) as mine:
            yield document_id in mine

    def log(self, document_id: str, action: str, info: EventInfo | None = None, *,
            conn: Connection | None = None) -> None:
        """Append an event that does not change the stage (a reminder, a code request, a view); ``conn``: inside
        the caller's transaction, so the event commits with the change it records."""
        if conn is not None:
            self._insert_event(conn, document_id, action, None, info or EventInfo(), self._clock())
            return
        with self.engine.begin() as own:
            self._insert_event(own, document_id, action, None, info or EventInfo(), self._clock())

    def events(self, document_id: str) -> list[EventRecord]:
        query = select(events).where(events.c.document_id == document_id).order_by(events.c.id)
        with self.engine.connect() as conn:
            return [EventRecord.from_row(r) for r in conn.execute(query)]

    def derived_stage(self, document_id: str) -> Stage | None:
        """The stage the event log says: the last event that set one."""
        query = (select(events.c.stage).where(events.c.document_id == document_id, events.c.stage.is_not(None))
                 .order_by(events.c.id.desc()).limit(1))
        with self.engine.connect() as conn:
            value = conn.execute(query).scalar()
        return Stage(value) if value else None

    def _insert_event(self, conn: Connection, document_id: str, action: str, stage: Stage | None,
                      info: EventInfo, at: datetime) -> None:
        conn.execute(events.insert().values(**event_row(document_id, action, stage, info, at)))


def _with_detail(info: EventInfo, detail: str) -> EventInfo:
    return EventInfo(actor=info.actor, channel=info.channel, ip=info.ip, user_agent=info.user_agent, detail=detail)
