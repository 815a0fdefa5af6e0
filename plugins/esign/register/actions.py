"""What a person can do to a document from the register or the CLI, each checked and recorded in the ledger.

Every action names its right; the acting person is the event's actor. Messages are only queued in the outbox
(a web request never waits on SMTP); the collect DAG's ``deliver_leftovers`` sends them.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from esign.access import AccessPolicy, AccessStore, LocalOrgChart, Principal, Right
from esign.dispatch.email import replace_message_id
from esign.dispatch.records import Channel, MessageKind, OutboxState, message_id_for
from esign.errors import EsignError
from esign.model import Stage
from esign.pipeline.services import Services
from esign.requests.records import RequestStatus
from esign.requests.schema import signing_requests
from esign.store import DocumentRecord, EventInfo
from esign.store.records import as_utc

_CANCELABLE = (Stage.DRAFT, Stage.COMPANY_SIGNED, Stage.SENT, Stage.VIEWED)
_WAITING = (Stage.SENT, Stage.VIEWED)
MAX_EXTEND_DAYS = 90


class ActionError(EsignError):
    """The action does not fit the document's state (canceling a completed document, ...)."""


class DocumentActions:
    """Checked actions for one worker's services."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.ledger = services.ws.ledger
        self.store = AccessStore(services.ws.engine)
        self.policy = AccessPolicy(LocalOrgChart(services.ws.engine))

    def document(self, principal: Principal, document_id: str, right: Right = Right.DOCUMENTS_VIEW) -> DocumentRecord:
        """The document, when ``principal`` holds ``right`` on it; an unknown one is refused the same way."""
        record = self.ledger.maybe_get(document_id)
        self.policy.require(principal, right, record.manager_id if record else None, document_id)
        if record is None:  # only reached at level "all": below it, a missing manager is refused above
            raise ActionError(f"unknown document {document_id!r}")
        return record

    def _info(self, principal: Principal, detail: str) -> EventInfo:
        return EventInfo(actor=principal.label, channel="staff", detail=detail)

    def cancel(self, principal: Principal, document_id: str, reason: str = "") -> None:
        """Close the open link (if any) and move the document to ``canceled``."""
        record = self.document(principal, document_id, Right.DOCUMENTS_CANCEL)
        if record.stage not in _CANCELABLE:
            raise ActionError(f"document {document_id} is {record.stage} and can no longer be canceled")
        now = datetime.now(UTC)
        with self.services.ws.engine.begin() as conn:
            conn.execute(signing_requests.update()
                         .where(signing_requests.c.document_id == document_id,
                                signing_requests.c.status == RequestStatus.OPEN.value)
                         .values(status=RequestStatus.CANCELED.value, closed_at=now))
        self.ledger.move(document_id, Stage.CANCELED, "canceled",
                         self._info(principal, reason.strip()[:500] or "cancelado pela equipe"))

    def resend(self, principal: Principal, document_id: str) -> int:
        """Queue the signing link again; an uncertain or failed invitation is resent as itself. The outbox row."""
        record = self.document(principal, document_id, Right.DOCUMENTS_RESEND)
        if record.stage not in _WAITING:
            raise ActionError(f"document {document_id} is {record.stage}: only a sent document can be resent")
        services = self.services
        request = services.requests.for_document(document_id)
        if request is None:
            raise ActionError(f"document {document_id} has no signing link")
        invite = services.outbox.get_by_key(f"invite:{request.id}")
        if invite is not None and invite.state in (OutboxState.UNCERTAIN, OutboxState.FAILED):
            entry = services.outbox.resend(invite.id)
        else:
            from esign.pipeline.messages import reminder_message

            earlier = [e for e in services.outbox.entries(document_id=document_id)
                       if e.dedupe_key.startswith(f"resend:{request.id}:")]
            key = f"resend:{request.id}:{len(earlier) + 1}"
            reminders = [e for e in services.outbox.entries(document_id=document_id)
                         if str(e.kind) == MessageKind.REMINDER]
            message = reminder_message(services, request, record, len(reminders) + 1)
            new_id = message_id_for(key)
            payload = message.payload
            if request.channel == Channel.EMAIL and isinstance(payload, bytes):
                payload = replace_message_id(payload, new_id)
            entry = services.outbox.enqueue(replace(message, dedupe_key=key, message_id=new_id, payload=payload))
        self.ledger.log(document_id, "resend_queued", self._info(principal, f"outbox {entry.id}"))
        return entry.id

    def extend(self, principal: Principal, document_id: str, days: int) -> datetime:
        """Push the open link's expiry ``days`` further (from now if already past); the new expiry."""
        record = self.document(principal, document_id, Right.DOCUMENTS_EDIT)
        if not 1 <= days <= MAX_EXTEND_DAYS:
            raise ActionError(f"extend by 1 to {MAX_EXTEND_DAYS} days, not {days}")
        if record.stage not in (Stage.COMPANY_SIGNED, *_WAITING):
            raise ActionError(f"document {document_id} is {record.stage}: there is no open link to extend")
        with self.services.ws.engine.begin() as conn:
            row = conn.execute(select(signing_requests.c.id, signing_requests.c.expires_at)
                               .where(signing_requests.c.document_id == document_id,
                                      signing_requests.c.status == RequestStatus.OPEN.value)).first()
            if row is None:
                raise ActionError(f"document {document_id} has no open signing link")
            new = max(as_utc(row.expires_at), datetime.now(UTC)).replace(microsecond=0) + timedelta(days=days)
            conn.execute(signing_requests.update().where(signing_requests.c.id == row.id,
                                                         signing_requests.c.status == RequestStatus.OPEN.value)
                         .values(expires_at=new))
        self.ledger.log(document_id, "expiry_extended", self._info(principal, f"+{days}d até {new.isoformat()}"))
        return new

    def version_file(self, principal: Principal, document_id: str, kind: str) -> Path:
        """The stored file of one version, for a download."""
        self.document(principal, document_id)
        version = self.ledger.version(document_id, kind)
        if version is None:
            raise ActionError(f"document {document_id} has no {kind} version")
        path = Path(version.path)
        if not path.is_absolute():
            path = self.services.ws.settings.documents_dir / path
        if not path.is_file():
            raise ActionError(f"the {kind} file of document {document_id} is missing")
        return path

    def signed_zip(self, principal: Principal, document_ids: list[str]) -> tuple[bytes, list[str]]:
        """The final PDFs of the documents ``principal`` may view, as one ZIP; plus the IDs left out and why."""
        buffer, skipped = io.BytesIO(), []
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for doc_id in dict.fromkeys(document_ids):
                try:
                    path = self.version_file(principal, doc_id, "final")
                except EsignError as exc:
                    skipped.append(f"{doc_id}: {exc}")
                    continue
                archive.write(path, f"{doc_id}.pdf")
                self.ledger.log(doc_id, "downloaded", self._info(principal, "ZIP"))
        return buffer.getvalue(), skipped
