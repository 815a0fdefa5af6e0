"""The document core as idempotent steps: prepare (validate + render), company-sign, finalize.

Every step can be re-run after a crash or a retry: it looks at what the ledger already holds and does only
what is missing. Files are written atomically before the ledger records them, so a recorded version always
points at a whole file, and a file never recorded is simply written again (rendering is deterministic).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from esign.core.batch_documents import company_sign_documents, prepare_documents
from esign.core.batch_finalize import finalize_documents
from esign.errors import EsignError, RenderError, SigningError
from esign.model import ClientEvidence, Deal, Stage
from esign.store import DocumentRecord, EventInfo
from esign.workspace import Workspace

log = logging.getLogger(__name__)


def prepare_document(ws: Workspace, deal: Deal, template_id: str, *, crm: str = "local",
                     batch_id: str | None = None, problems: Sequence[str] = (),
                     may_restart: Callable[[DocumentRecord], bool] | None = None) -> tuple[DocumentRecord, bool]:
    """Validate the deal and render its document; bad data ends quarantined with every reason named.

    Returns the document and whether this call created it (see :func:`esign.core.batch_documents.prepare_documents`,
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


def finalize_signed_document(ws: Workspace, document_id: str,
                             evidence: ClientEvidence | Sequence[ClientEvidence]) -> DocumentRecord:
    """Every signer's block + certificate of completion + seal; the document becomes ``completed`` (no-op when
    done). ``evidence``: one item per signer who signed (a single one for a one-signer document).

    Another worker sealing the same document right now: returned unchanged, that worker finishes it.
    """
    record = ws.ledger.get(document_id)
    if record.stage is Stage.COMPLETED:
        return record
    if record.stage is not Stage.CLIENT_SIGNED:
        raise SigningError(f"document {document_id}: is {record.stage}, not client_signed")
    signed = (evidence,) if isinstance(evidence, ClientEvidence) else tuple(evidence)
    outcome = finalize_documents(ws, [document_id], lambda ids: {document_id: signed})
    if document_id in outcome.failed:
        raise outcome.failed[document_id]
    return ws.ledger.get(document_id)


def fail_document(ws: Workspace, document_id: str, error: EsignError, actor: str = "pipeline") -> None:
    """Mark a document failed with the error as the reason (a final stage: an operator decides what next)."""
    ws.ledger.move(document_id, Stage.FAILED, "failed", EventInfo(actor=actor, detail=str(error)), reason=str(error))
