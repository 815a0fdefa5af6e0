"""The read side of signing requests: each signer's current request, a document's latest, the decline, the evidence
the certificate prints, the requests due a reminder. ``SigningRequests`` adds the writes (creating, answering,
expiring); these need only the engine, the ledger and the clock."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from esign.model import ClientEvidence, SignerSpec
from esign.requests.errors import RequestError, UnknownLinkError
from esign.requests.records import RequestStatus, SigningRequest
from esign.requests.schema import signing_requests
from esign.store import DocumentRecord, Ledger
from esign.store.records import as_utc


class RequestReads:
    """Queries over ``signing_requests`` through the ledger's engine, on the service's clock."""

    def __init__(self, engine: Engine, ledger: Ledger, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.ledger = ledger
        self._clock = clock

    def now(self) -> datetime:
        return as_utc(self._clock())

    def current_for_documents(self, document_ids: Sequence[str]) -> dict[str, dict[int, SigningRequest]]:
        """Each document's latest request per signer (by position), one query per 500 documents."""
        found: dict[str, dict[int, SigningRequest]] = {}
        for request in self._requests_of(document_ids):
            found.setdefault(request.document_id, {})[request.signer] = request  # ascending: the last attempt wins
        return found

    def _requests_of(self, document_ids: Sequence[str]) -> list[SigningRequest]:
        """Every request of these documents, by document then attempt; one query per 500 documents."""
        found: list[SigningRequest] = []
        with self.engine.connect() as conn:
            for start in range(0, len(document_ids), 500):
                chunk = list(document_ids[start:start + 500])
                query = (select(signing_requests).where(signing_requests.c.document_id.in_(chunk))
                         .order_by(signing_requests.c.document_id, signing_requests.c.attempt))
                found.extend(SigningRequest.from_row(row) for row in conn.execute(query))
        return found

    def latest_for_documents(self, document_ids: Sequence[str]) -> dict[str, SigningRequest]:
        """``for_document`` for many documents in one query per 500: each document's latest request, if any."""
        found: dict[str, SigningRequest] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(document_ids), 500):
                chunk = list(document_ids[start:start + 500])
                query = (select(signing_requests).where(signing_requests.c.document_id.in_(chunk))
                         .order_by(signing_requests.c.document_id, signing_requests.c.attempt))
                for row in conn.execute(query):
                    request = SigningRequest.from_row(row)
                    found[request.document_id] = request  # ascending attempts: the last one wins
        return found

    def get(self, request_id: str) -> SigningRequest:
        with self.engine.connect() as conn:
            row = conn.execute(select(signing_requests).where(signing_requests.c.id == request_id)).first()
        if row is None:
            raise UnknownLinkError("este link não existe")
        return SigningRequest.from_row(row)

    def for_document(self, document_id: str) -> SigningRequest | None:
        """The document's latest request (any status), or None."""
        query = (select(signing_requests).where(signing_requests.c.document_id == document_id)
                 .order_by(signing_requests.c.attempt.desc()).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return SigningRequest.from_row(row) if row else None

    def decline_of(self, document_id: str) -> SigningRequest | None:
        """The request by which the document was declined (its signer's reason is there), or None."""
        query = (select(signing_requests).where(signing_requests.c.document_id == document_id,
                                                signing_requests.c.status == RequestStatus.DECLINED.value)
                 .order_by(signing_requests.c.closed_at, signing_requests.c.attempt))
        with self.engine.connect() as conn:
            rows = [SigningRequest.from_row(r) for r in conn.execute(query)]
        record = self.ledger.get(document_id)
        required = [q for q in rows if signer_of(record, q.signer).required]
        chosen = required or rows
        return chosen[0] if chosen else None

    def evidence(self, document_id: str) -> tuple[ClientEvidence, ...]:
        """What the certificate of completion prints about each signature, by signer position."""
        found = self.evidence_many([document_id])
        if document_id not in found:
            raise RequestError(f"document {document_id} has no client signature", reason="not_signed")
        return found[document_id]

    def evidence_many(self, document_ids: Sequence[str]) -> dict[str, tuple[ClientEvidence, ...]]:
        """``evidence`` for many documents in one query per 500; a document nobody signed is absent. Each signer's
        signed request (a signer signs once: at most one of their requests is signed), by position."""
        if not document_ids:
            return {}
        rows: list[Any] = []
        with self.engine.connect() as conn:
            for start in range(0, len(document_ids), 500):
                chunk = list(document_ids[start:start + 500])
                query = (select(signing_requests)
                         .where(signing_requests.c.document_id.in_(chunk),
                                signing_requests.c.status == RequestStatus.SIGNED.value)
                         .order_by(signing_requests.c.document_id, signing_requests.c.signer))
                rows.extend(conn.execute(query).all())
        records = self.ledger.bulk.get_many(list(dict.fromkeys(row.document_id for row in rows)))
        found: dict[str, list[ClientEvidence]] = {}
        for row in rows:
            record = records.get(row.document_id)
            if record is None:
                continue
            signer = signer_of(record, row.signer)
            found.setdefault(row.document_id, []).append(ClientEvidence(
                signer_name=row.signer_name, signed_at=as_utc(row.signed_at), channel=row.channel,
                masked_destination=row.masked_destination, code_verified_at=as_utc(row.code_verified_at),
                ip=row.sign_ip or "", user_agent=row.sign_user_agent or "", typed_name=row.typed_name or "",
                drawn_png=row.drawn_png, signer_tax_id=signer.tax_id if len(record.signers) > 1 else "",
                position=signer.position, role=signer.role.value, slot=signer.slot or "client",
            ))
        return {doc: tuple(items) for doc, items in found.items()}

    def pending(self, older_than: timedelta) -> list[SigningRequest]:
        """Open, unexpired requests created more than ``older_than`` ago (candidates for a reminder)."""
        now = self.now()
        query = (select(signing_requests)
                 .where(signing_requests.c.status == RequestStatus.OPEN.value,
                        signing_requests.c.created_at <= now - older_than, signing_requests.c.expires_at > now)
                 .order_by(signing_requests.c.created_at))
        with self.engine.connect() as conn:
            return [SigningRequest.from_row(r) for r in conn.execute(query)]


def signer_of(record: DocumentRecord, position: int) -> SignerSpec:
    """The request's signer; a position the document does not list (never written so) is its first signer."""
    try:
        return record.signer(position)
    except KeyError:
        return record.signers[0]
