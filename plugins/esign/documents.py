"""The document core as idempotent steps: prepare (validate + render), company-sign, finalize.

Every step can be re-run after a crash or a retry: it looks at what the ledger already holds and does only
what is missing. Files are written atomically before the ledger records them, so a recorded version always
points at a whole file, and a file never recorded is simply written again (rendering is deterministic).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from esign.errors import EsignError, RenderError, SigningError, ValidationError
from esign.model import AuditEvent, ClientEvidence, Deal, Party, Stage
from esign.render import render_document
from esign.signing import CompletionInfo, company_sign, finalize_document
from esign.store import DocumentRecord, EventInfo, sha256_hex, write_atomic
from esign.validate import sanitize_text, validate_deal
from esign.workspace import Workspace

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def quarantine_reason(problems: Sequence[str]) -> str:
    return "; ".join(problems)


#: Stages after which a deal that comes back to the trigger stage gets a new document (a new round).
RESTARTABLE = frozenset({Stage.QUARANTINED, Stage.DECLINED, Stage.EXPIRED, Stage.CANCELED, Stage.FAILED})


def prepare_document(ws: Workspace, deal: Deal, template_id: str, *, crm: str = "local",
                     batch_id: str | None = None, problems: Sequence[str] = (),
                     may_restart: Callable[[DocumentRecord], bool] | None = None) -> tuple[DocumentRecord, bool]:
    """Validate the deal and render its document; bad data ends quarantined with every reason named.

    Returns the document and whether this call created it. A deal that already has an open or completed
    document keeps it; one whose last document ended (declined, expired, ...) gets a new round only when
    ``may_restart`` says the earlier round is wrapped up (its CRM write-back done).
    """
    latest = ws.ledger.latest_for_deal(crm=crm, deal_id=deal.id, template_id=template_id)
    round_ = 1
    if latest is not None:
        if latest.stage in RESTARTABLE and may_restart is not None and may_restart(latest):
            round_ = latest.round + 1
        elif latest.stage is Stage.DRAFT and ws.ledger.version(latest.id, "rendered") is None:
            return _render(ws, deal, template_id, latest), False
        else:
            return latest, False
    issues = list(problems) + [str(e) for e in validate_deal(deal)]
    template = ws.templates.get(template_id)
    party = deal.counterparty
    # stored values are cleaned like rendered ones: a lone surrogate or NUL from the CRM must not break the insert
    common: dict[str, Any] = {
              "deal_id": deal.id, "template_id": template_id,
              "title": sanitize_text(deal.title).strip() or template.id, "crm": crm, "round_": round_,
              "batch_id": batch_id, "counterparty_name": sanitize_text(party.name),
              "counterparty_tax_id": sanitize_text(party.tax_id), "counterparty_email": sanitize_text(party.email),
              "counterparty_phone": sanitize_text(party.phone),
              "manager_id": deal.manager.id if deal.manager else None}
    if issues:
        record, created = ws.ledger.create_document(
            **common, stage=Stage.QUARANTINED, reason=quarantine_reason(issues), info=EventInfo(actor="validator"))
        return record, created
    record, created = ws.ledger.create_document(**common)
    if record.stage is not Stage.DRAFT or ws.ledger.version(record.id, "rendered") is not None:
        return record, created
    return _render(ws, deal, template_id, record), created


def _render(ws: Workspace, deal: Deal, template_id: str, record: DocumentRecord) -> DocumentRecord:
    """Render, store the file atomically, then record it. A render failure quarantines the document."""
    try:
        rendered = render_document(ws.templates.get(template_id), ws.company.party, deal, record.id,
                                   issued_at=record.created_at)
    except (RenderError, ValidationError) as exc:
        ws.ledger.move(record.id, Stage.QUARANTINED, "quarantined", EventInfo(actor="renderer", detail=str(exc)),
                       reason=str(exc))
        return ws.ledger.get(record.id)
    path = ws.version_path("rendered", record.id)
    write_atomic(path, rendered.pdf)
    ws.ledger.set_slots(record.id, rendered.slots)
    ws.ledger.add_version(record.id, "rendered", sha256=sha256_hex(rendered.pdf), path=str(path),
                          size=len(rendered.pdf))
    return ws.ledger.get(record.id)


def company_sign_document(ws: Workspace, document_id: str, *, approved_by: str,
                          signed_at: datetime | None = None) -> DocumentRecord:
    """Apply the director's visible block and PAdES signature to a rendered draft (no-op when done).

    Another worker signing the same draft right now: returned unchanged (still a draft), that worker finishes it.
    """
    with ws.ledger.exclusive(document_id) as mine:
        record = ws.ledger.get(document_id)
        if not mine or record.stage is not Stage.DRAFT:
            return record
        return _company_sign(ws, record, approved_by, signed_at)


def _company_sign(ws: Workspace, record: DocumentRecord, approved_by: str,
                  signed_at: datetime | None) -> DocumentRecord:
    document_id = record.id
    if ws.ledger.version(document_id, "company_signed") is None:
        rendered = ws.ledger.version(document_id, "rendered")
        if rendered is None:
            raise SigningError(f"document {document_id}: nothing rendered to sign")
        source = ws.version_path("rendered", document_id).read_bytes()
        if sha256_hex(source) != rendered.sha256:
            raise SigningError(f"document {document_id}: the rendered file does not match its recorded SHA-256")
        company = ws.company
        signed = company_sign(source, record.slots, ws.sealer, signer_name=company.director_name,
                              signer_title=company.director_title, company_name=company.party.name,
                              signed_at=signed_at or _now())
        path = ws.version_path("company_signed", document_id)
        write_atomic(path, signed)
        ws.ledger.add_version(document_id, "company_signed", sha256=sha256_hex(signed), path=str(path),
                              size=len(signed))
    ws.ledger.move(document_id, Stage.COMPANY_SIGNED, "company_signed",
                   EventInfo(actor=approved_by, detail=f"signed by {ws.company.director_name}"))
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
