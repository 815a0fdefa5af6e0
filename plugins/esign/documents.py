"""The document core as idempotent steps: prepare (validate + render), company-sign, finalize.

Every step can be re-run after a crash or a retry: it looks at what the ledger already holds and does only
what is missing. Files are written atomically before the ledger records them, so a recorded version always
points at a whole file, and a file never recorded is simply written again (rendering is deterministic).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from esign.batch_documents import company_sign_documents, prepare_documents
from esign.errors import EsignError, RenderError, SigningError
from esign.model import AuditEvent, ClientEvidence, Deal, Party, Stage
from esign.signing import CompletionInfo, finalize_document
from esign.store import DocumentRecord, EventInfo, sha256_hex, write_atomic
from esign.workspace import Workspace

log = logging.getLogger(__name__)


def prepare_document(ws: Workspace, deal: Deal, template_id: str, *, crm: str = "local",
                     batch_id: str | None = None, problems: Sequence[str] = (),
                     may_restart: Callable[[DocumentRecord], bool] | None = None) -> tuple[DocumentRecord, bool]:
    """Validate the deal and render its document; bad data ends quarantined with every reason named.

    Returns the document and whether this call created it (see :func:`esign.batch_documents.prepare_documents`,
    which this runs with one deal).
    """
    (prepared,) = prepare_documents(ws, [(deal, problems)], template_id, crm=crm, batch_id=batch_id,
                                    may_restart=may_restart)
    if prepared.record is None or prepared.error:
        raise RenderError(prepared.error or f"deal {deal.id}: could not be prepared")
    return prepared.record, prepared.created


def company_sign_document(ws: Workspace, document_id: str, *, approved_by: str,
                          signed_at: datetime | None = None) -> DocumentRecord:
    """Apply the director's visible block and PAdES signature to a rendered draft (no-op when done).

    Another worker signing the same draft right now: returned unchanged (still a draft), that worker finishes it.
    """
    record = ws.ledger.get(document_id)
    if record.stage is not Stage.DRAFT:
        return record
    outcome = company_sign_documents(ws, [record], approved_by=approved_by, signed_at=signed_at)
    if document_id in outcome.failed:
        raise outcome.failed[document_id]
    if document_id in outcome.not_rendered:
        raise SigningError(f"document {document_id}: nothing rendered to sign")
    return ws.ledger.get(document_id)


def audit_trail(ws: Workspace, document_id: str) -> tuple[AuditEvent, ...]:
    return tuple(AuditEvent(at=e.at, action=e.action, actor=e.actor, channel=e.channel, ip=e.ip,
                            user_agent=e.user_agent, detail=e.detail)
                 for e in ws.ledger.events(document_id))


def finalize_signed_document(ws: Workspace, document_id: str, evidence: ClientEvidence,
                             counterparty_email: str = "", counterparty_phone: str = "") -> DocumentRecord:
    """Client's block + certificate of completion + seal; the document becomes ``completed``.

    Another worker sealing the same document right now: returned unchanged, that worker finishes it.
    """
    with ws.ledger.exclusive(document_id) as mine:
        record = ws.ledger.get(document_id)
        if not mine or record.stage is Stage.COMPLETED:
            return record
        return _finalize(ws, record, evidence, counterparty_email, counterparty_phone)


def _finalize(ws: Workspace, record: DocumentRecord, evidence: ClientEvidence, counterparty_email: str,
              counterparty_phone: str) -> DocumentRecord:
    document_id = record.id
    if record.stage is not Stage.CLIENT_SIGNED:
        raise SigningError(f"document {document_id}: is {record.stage}, not client_signed")
    if ws.ledger.version(document_id, "final") is None:
        original = ws.ledger.version(document_id, "rendered")
        signed = ws.ledger.version(document_id, "company_signed")
        if original is None or signed is None:
            raise SigningError(f"document {document_id}: earlier versions are missing from the ledger")
        source = ws.version_path("company_signed", document_id).read_bytes()
        if sha256_hex(source) != signed.sha256:
            raise SigningError(f"document {document_id}: the company-signed file does not match its SHA-256")
        company_event = next((e for e in ws.ledger.events(document_id) if e.stage is Stage.COMPANY_SIGNED), None)
        counterparty = _counterparty(record, evidence, counterparty_email, counterparty_phone)
        info = CompletionInfo(
            document_id=document_id, title=record.title, company=ws.company.party, counterparty=counterparty,
            company_signer_name=ws.company.director_name, company_signer_title=ws.company.director_title,
            company_signed_at=company_event.at if company_event else signed.created_at,
            events=audit_trail(ws, document_id), sha256_original=original.sha256,
            sha256_company_signed=signed.sha256, verify_url=ws.settings.verify_url(document_id),
        )
        final = finalize_document(source, record.slots, evidence, info, ws.sealer)
        path = ws.version_path("final", document_id)
        write_atomic(path, final)
        ws.ledger.add_version(document_id, "final", sha256=sha256_hex(final), path=str(path), size=len(final))
    ws.ledger.move(document_id, Stage.COMPLETED, "completed", EventInfo(actor="pipeline", detail="sealed"))
    return ws.ledger.get(document_id)


def _counterparty(record: DocumentRecord, evidence: ClientEvidence, email: str, phone: str) -> Party:
    """The counterparty as the ledger recorded it, with the person who actually signed."""
    return Party(name=record.counterparty_name or evidence.signer_name, tax_id=record.counterparty_tax_id,
                 representative=evidence.signer_name, email=email or record.counterparty_email,
                 phone=phone or record.counterparty_phone)


def fail_document(ws: Workspace, document_id: str, error: EsignError, actor: str = "pipeline") -> None:
    """Mark a document failed with the error as the reason (a final stage: an operator decides what next)."""
    ws.ledger.move(document_id, Stage.FAILED, "failed", EventInfo(actor=actor, detail=str(error)), reason=str(error))
