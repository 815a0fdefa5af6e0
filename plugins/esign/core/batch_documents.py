"""The document steps for a whole batch: prepare (validate + render) and company-sign, with bulk ledger writes.

Same guarantees as the one-document steps in :mod:`esign.core.documents` (which call these with one item): a deal has
one open document, a file is written atomically before the ledger records it, a recorded version never changes,
every stage move is conditional with its event. What changes is how often the ledger is written: the batch's
documents are created in one transaction, and rendered or signed files are recorded every ``record_every``
documents, so a crash loses at most that much work — which the next run redoes (rendering is deterministic; an
unrecorded signed file is simply signed again, no one has seen it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from esign.contacts import normalize_email, normalize_phone
from esign.errors import EsignError, RenderError, SigningError, ValidationError
from esign.model import Deal, Stage
from esign.render import render_document
from esign.render.templates import DocumentTemplate
from esign.signing import company_sign
from esign.store import DocumentRecord, EventInfo, NewDocument, StoredFile, sha256_hex
from esign.store.bulk import create_arguments
from esign.store.files import sync_files, write_unsynced
from esign.validate import deal_warnings, sanitize_text, validate_deal
from esign.workspace import Workspace

log = logging.getLogger(__name__)

#: Stages after which a deal that comes back to the trigger stage gets a new document (a new round).
RESTARTABLE = frozenset({Stage.QUARANTINED, Stage.DECLINED, Stage.EXPIRED, Stage.CANCELED, Stage.FAILED})
#: Files recorded per ledger transaction: few commits per batch, little to redo after a crash.
RECORD_EVERY = 50


@dataclass(frozen=True, slots=True)
class Prepared:
    """What preparing one deal gave: its document (None only on an unexpected error) and whether it is new."""

    deal_id: str
    record: DocumentRecord | None
    created: bool
    error: str | None = None


def quarantine_reason(problems: Sequence[str]) -> str:
    return "; ".join(problems)


def prepare_documents(ws: Workspace, deals: Sequence[tuple[Deal, Sequence[str]]], template_id: str, *,
                      crm: str = "local", batch_id: str | None = None,
                      may_restart: Callable[[DocumentRecord], bool] | None = None,
                      record_every: int = RECORD_EVERY) -> list[Prepared]:
    """Validate and render each ``(deal, problems)``; bad data ends quarantined with every reason named.

    A deal that already has an open or completed document keeps it (``created`` False); one whose last document
    ended (declined, expired, ...) gets a new round only when ``may_restart`` says the earlier round is wrapped
    up. A draft whose rendering was never recorded (a crash) is rendered now.
    """
    template = ws.templates.get(template_id)
    latest = ws.ledger.bulk.latest_for_deals(crm=crm, template_id=template_id, deal_ids=[d.id for d, _ in deals])
    rendered = ws.ledger.bulk.versions_for([r.id for r in latest.values() if r.stage is Stage.DRAFT], "rendered")
    results: dict[str, Prepared] = {}
    new: list[NewDocument] = []
    for deal, problems in deals:
        known = latest.get(deal.id)
        round_ = 1
        if known is not None:
            if known.stage in RESTARTABLE and may_restart is not None and may_restart(known):
                round_ = known.round + 1
            else:
                results[deal.id] = Prepared(deal.id, known, False)
                continue
        issues = list(problems) + [str(e) for e in validate_deal(deal)]
        notes = [str(e) for e in deal_warnings(deal)]
        new.append(_new_document(deal, template_id, crm, round_, batch_id, issues, notes))
    for prepared in _create_all(ws, new):
        results[prepared.deal_id] = prepared
    to_render = [(deal, r.record) for deal, _ in deals
                 if (r := results[deal.id]).record is not None and r.record.stage is Stage.DRAFT
                 and r.record.id not in rendered]
    rendered_now, errors = _render_all(ws, to_render, template, record_every)
    for record in rendered_now:
        results[record.deal_id] = replace(results[record.deal_id], record=record)
    for record_id, (deal_id, message) in errors.items():
        results[deal_id] = replace(results[deal_id], error=f"document {record_id}: {message}")
    return [results[deal.id] for deal, _ in deals]


def _create_all(ws: Workspace, new: Sequence[NewDocument]) -> list[Prepared]:
    """Create the documents in one transaction; if the database refuses it, one by one, so one deal's bad value
    (say, too long for a column) is that deal's error and the others are created."""
    try:
        return [Prepared(r.deal_id, r, created) for r, created in ws.ledger.bulk.create_documents(new)]
    except SQLAlchemyError as exc:
        log.warning("bulk create of %d documents refused (%s); creating them one by one", len(new), exc)
    results: list[Prepared] = []
    for doc in new:
        try:
            record, created = ws.ledger.create_document(**create_arguments(doc))
            results.append(Prepared(doc.deal_id, record, created))
        except SQLAlchemyError as exc:
            log.error("deal %s: the ledger refused its document: %s", doc.deal_id, exc)
            results.append(Prepared(doc.deal_id, None, False, f"the ledger refused the document: {exc}"))
    return results


def client_language(deal: Deal) -> str:
    """The client's language when the deal gives one (``extra["language"]``, any tag: negotiated when shown)."""
    return sanitize_text(deal.extra.get("language", "")).strip()[:20]


def manager_email(deal: Deal) -> str:
    """The responsible manager's e-mail when the CRM gives a usable one (they get the final signed copy)."""
    email = sanitize_text(deal.manager.email if deal.manager else "").strip()
    return email if "@" in email and not any(c.isspace() for c in email) and len(email) <= 320 else ""


def _new_document(deal: Deal, template_id: str, crm: str, round_: int, batch_id: str | None,
                  issues: list[str], notes: list[str]) -> NewDocument:
    """The ledger row for a deal; stored values are cleaned like rendered ones (a lone surrogate, a NUL), usable
    contacts in their one form (the phone in E.164). A contact that cannot be used, while the other can, is noted
    on the document's first event: the client is reached by the other channel."""
    party = deal.counterparty
    email, phone = sanitize_text(party.email), sanitize_text(party.phone)
    return NewDocument(
        deal_id=deal.id, template_id=template_id, title=sanitize_text(deal.title).strip() or template_id,
        crm=crm, round_=round_, batch_id=batch_id, counterparty_name=sanitize_text(party.name),
        counterparty_tax_id=sanitize_text(party.tax_id), counterparty_email=normalize_email(email) or email,
        counterparty_phone=normalize_phone(phone) or phone, counterparty_contact=sanitize_text(party.representative),
        language=client_language(deal), manager_email=manager_email(deal),
        manager_id=deal.manager.id if deal.manager else None,
        stage=Stage.QUARANTINED if issues else Stage.DRAFT, reason=quarantine_reason(issues) if issues else None,
        actor="validator" if issues else "pipeline", note="" if issues else quarantine_reason(notes))


def _render_all(ws: Workspace, drafts: Sequence[tuple[Deal, DocumentRecord]], template: DocumentTemplate,
                record_every: int) -> tuple[list[DocumentRecord], dict[str, tuple[str, str]]]:
    """Render each draft, write its file, record the files every ``record_every``.

    Returns the updated records, and the unexpected failures by document ID (deal ID, message).

    A rendering refused by the template quarantines that document; an unexpected failure leaves it a draft
    without a file (the next run renders it again) and is logged; neither stops the others.
    """
    done: list[DocumentRecord] = []
    errors: dict[str, tuple[str, str]] = {}
    pending: list[tuple[DocumentRecord, StoredFile]] = []

    def flush() -> None:
        if not pending:
            return
        try:
            sync_files(f.path for _, f in pending)
        except OSError as exc:  # the group's files may not be on disk: they wait for the next run, unrecorded
            log.error("%d rendered files could not be made durable: %s", len(pending), exc)
            errors.update((r.id, (r.deal_id, f"cannot store the rendered file: {exc}")) for r, _ in pending)
            pending.clear()
            return
        ws.ledger.bulk.record_files([f for _, f in pending], "rendered")
        done.extend(replace(r, slots=f.slots or ()) for r, f in pending)
        pending.clear()

    for deal, record in drafts:
        try:
            doc = render_document(template, ws.company.party, deal, record.id, issued_at=record.created_at,
                                  signers=record.signers)
        except (RenderError, ValidationError) as exc:
            ws.ledger.move(record.id, Stage.QUARANTINED, "quarantined",
                           EventInfo(actor="renderer", detail=str(exc)), reason=str(exc))
            done.append(replace(record, stage=Stage.QUARANTINED, reason=str(exc)))
            continue
        except Exception as exc:  # one deal's unexpected failure must not stop the batch; the next run retries it
            log.exception("document %s (deal %s): unexpected error while rendering", record.id, deal.id)
            errors[record.id] = (deal.id, f"unexpected error while rendering: {exc!r}")
            continue
        path = ws.version_path("rendered", record.id)
        try:
            write_unsynced(path, doc.pdf)
        except OSError as exc:  # a full disk, say: this draft waits for the next run, the others go on
            log.error("document %s (deal %s): cannot store the rendered file: %s", record.id, deal.id, exc)
            errors[record.id] = (deal.id, f"cannot store the rendered file: {exc}")
            continue
        pending.append((record, StoredFile(record.id, sha256_hex(doc.pdf), str(path), len(doc.pdf),
                                           tuple(doc.slots))))
        if len(pending) >= record_every:
            flush()
    flush()
    return done, errors


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class SignOutcome:
    """Document IDs by what company-signing them did."""

    signed: list[str]
    not_rendered: list[str]
    busy: list[str]
    failed: dict[str, EsignError]


def company_sign_documents(ws: Workspace, records: Sequence[DocumentRecord], *, approved_by: str,
                           signed_at: datetime | None = None, record_every: int = RECORD_EVERY) -> SignOutcome:
    """Apply the director's visible block and PAdES signature to rendered drafts; signed files recorded in bulk.

    A draft another process is signing right now is left to it (``busy``); one whose rendered file does not
    match its SHA-256 fails with the reason (the caller decides what to record). Already signed ones only move.
    """
    outcome = SignOutcome([], [], [], {})
    ids = [r.id for r in records if r.stage is Stage.DRAFT]
    company = ws.company
    pending: list[StoredFile] = []
    moves: list[str] = []
    detail = f"signed by {company.director_name}"

    def flush() -> None:
        if not moves:
            return
        sync_files(f.path for f in pending)  # durable before recorded; an OSError fails the task, nothing recorded
        outcome.signed.extend(ws.ledger.bulk.record_files_and_move(
            pending, "company_signed", moves, Stage.DRAFT, Stage.COMPANY_SIGNED, "company_signed", approved_by,
            detail))
        pending.clear()
        moves.clear()

    with ws.ledger.bulk.exclusive_many(ids) as mine:
        outcome.busy.extend(i for i in ids if i not in mine)
        # read only now, under the locks: another process may have signed some of them and let go meanwhile
        held = [i for i in ids if i in mine]
        drafts = [r for r in ws.ledger.bulk.get_many(held).values() if r.stage is Stage.DRAFT]
        rendered = ws.ledger.bulk.versions_for(held, "rendered")
        signed = ws.ledger.bulk.versions_for(held, "company_signed")
        for record in drafts:
            if record.id in signed:
                moves.append(record.id)  # signed and recorded before a crash: only the move is missing
                continue
            version = rendered.get(record.id)
            if version is None:
                outcome.not_rendered.append(record.id)  # its rendering failed: a re-run of prepare renders it
                continue
            try:
                pending.append(_sign_one(ws, record, version.sha256, signed_at or _now()))
            except EsignError as exc:
                outcome.failed[record.id] = exc
                continue
            moves.append(record.id)
            if len(moves) >= record_every:
                flush()
        flush()
    return outcome


def _sign_one(ws: Workspace, record: DocumentRecord, rendered_sha256: str, signed_at: datetime) -> StoredFile:
    source = ws.version_path("rendered", record.id).read_bytes()
    if sha256_hex(source) != rendered_sha256:
        raise SigningError(f"document {record.id}: the rendered file does not match its recorded SHA-256")
    company = ws.company
    pdf = company_sign(source, record.slots, ws.sealer, signer_name=company.director_name,
                       signer_title=company.director_title, company_name=company.party.name, signed_at=signed_at,
                       t=company.translator())
    path = ws.version_path("company_signed", record.id)
    write_unsynced(path, pdf)
    return StoredFile(record.id, sha256_hex(pdf), str(path), len(pdf))
