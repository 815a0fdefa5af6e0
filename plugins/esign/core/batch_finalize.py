"""Finalize client-signed documents in groups: every signer's block + certificate of completion + seal,
bulk-recorded.

Same guarantees as sealing one document at a time: a document is sealed under its lock, the final file is written
atomically before the ledger records it, and its version and the move to ``completed`` are one transaction (per
group of ``record_every`` documents instead of two per document). A crash before that commit leaves the group
``client_signed``; the next run seals it again (nobody has seen those files).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from esign.core.batch_documents import RECORD_EVERY
from esign.errors import EsignError, SealUnavailableError, SigningError
from esign.model import AuditEvent, ClientEvidence, Party, SignerRole, SignerSide, Stage
from esign.model.signers import SignerSpec, copy_recipients, signer_label, signing_signers
from esign.render.filters import cpf_cnpj
from esign.signing import CompletionInfo, finalize_document
from esign.store import DocumentRecord, StoredFile, sha256_hex
from esign.store.bulk import chunks
from esign.store.files import sync_files, write_unsynced
from esign.store.records import EventRecord, VersionRecord
from esign.workspace import Workspace

#: The signers' evidence of the documents asked for, by document ID and signer position (a document nobody signed is
#: absent).
EvidenceSource = Callable[[Sequence[str]], Mapping[str, Sequence[ClientEvidence]]]


@dataclass
class FinalizeOutcome:
    """Document IDs by what finalizing them did."""

    completed: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    failed: dict[str, EsignError] = field(default_factory=dict)


def finalize_documents(ws: Workspace, document_ids: Sequence[str], evidence_for: EvidenceSource, *,
                       record_every: int = RECORD_EVERY) -> FinalizeOutcome:
    """Seal the ``client_signed`` documents among ``document_ids``; the others are left as they are.

    ``completed`` lists those moved to completed by this call; a document another process holds right now is
    ``busy`` (that process finishes it); one that cannot be sealed (missing evidence or versions, a file that does
    not match its SHA-256) is in ``failed`` with the reason, still ``client_signed`` (the caller decides).
    """
    outcome = FinalizeOutcome()
    for group in chunks(list(dict.fromkeys(document_ids)), max(record_every, 1)):
        with ws.ledger.bulk.exclusive_many(group) as mine:
            outcome.busy.extend(i for i in group if i not in mine)
            # read under the locks: another process may have sealed some of them and let go meanwhile
            held = [i for i in group if i in mine]
            records = [r for r in ws.ledger.bulk.get_many(held).values() if r.stage is Stage.CLIENT_SIGNED]
            if records:
                _finalize_group(ws, records, evidence_for, outcome)
    return outcome


def _finalize_group(ws: Workspace, records: Sequence[DocumentRecord], evidence_for: EvidenceSource,
                    outcome: FinalizeOutcome) -> None:
    bulk = ws.ledger.bulk
    ids = [r.id for r in records]
    finals = bulk.versions_for(ids, "final")
    todo = [r.id for r in records if r.id not in finals]
    originals, signed = bulk.versions_for(todo, "rendered"), bulk.versions_for(todo, "company_signed")
    evidence = evidence_for(todo) if todo else {}
    trails = bulk.events_for(todo)
    moves = [i for i in ids if i in finals]  # sealed and recorded before a crash: only the move is missing
    pending: list[StoredFile] = []
    try:
        for record in records:
            if record.id in finals:
                continue
            try:
                pending.append(_seal_one(ws, record, evidence.get(record.id), originals.get(record.id),
                                         signed.get(record.id), trails.get(record.id, [])))
            except SealUnavailableError:  # the TSA or revocation data, not the document: stop, a later run seals it
                raise
            except EsignError as exc:
                outcome.failed[record.id] = exc
                continue
            moves.append(record.id)
    finally:  # also when something unexpected stops the group: what was sealed is recorded
        if moves:
            sync_files(f.path for f in pending)  # durable before recorded
            outcome.completed.extend(bulk.record_files_and_move(
                pending, "final", moves, Stage.CLIENT_SIGNED, Stage.COMPLETED, "completed", "pipeline", "sealed"))


def _seal_one(ws: Workspace, record: DocumentRecord, found: Sequence[ClientEvidence] | ClientEvidence | None,
              original: VersionRecord | None, signed: VersionRecord | None,
              trail: Sequence[EventRecord]) -> StoredFile:
    document_id = record.id
    evidence = signer_evidence(record, found)
    if not evidence:
        raise SigningError(f"document {document_id}: has no client signature")
    signed_by = {item.position for item in evidence}
    if waiting := [s for s in signing_signers(record.signers) if s.required and s.position not in signed_by]:
        raise SigningError(f"document {document_id}: not signed yet by "
                           + ", ".join(f"signer {s.position} ({s.slot})" for s in waiting))
    if original is None or signed is None:
        raise SigningError(f"document {document_id}: earlier versions are missing from the ledger")
    source = ws.version_path("company_signed", document_id).read_bytes()
    if sha256_hex(source) != signed.sha256:
        raise SigningError(f"document {document_id}: the company-signed file does not match its SHA-256")
    info = completion_info(ws, record, evidence, original, signed, trail)
    final = finalize_document(source, record.slots, evidence, info, ws.sealer)
    path = ws.version_path("final", document_id)
    write_unsynced(path, final)
    return StoredFile(document_id, sha256_hex(final), str(path), len(final))


def signer_evidence(record: DocumentRecord, found: Sequence[ClientEvidence] | ClientEvidence | None
                    ) -> tuple[ClientEvidence, ...]:
    """The evidence of a document's signers by position, each with the block and role the document gives its
    signer (the document is the authority on who fills which block) and the signer's CPF (the document's when the
    evidence has none), punctuated."""
    if found is None:
        return ()
    items = [found] if isinstance(found, ClientEvidence) else list(found)
    specs = {spec.position: spec for spec in record.signers}
    out = []
    for item in items:
        spec = specs.get(item.position)
        if spec is not None and spec.slot:
            # a document without stored signers has its counterparty's tax ID there, not its signer's: not printed
            tax_id = item.signer_tax_id or (spec.tax_id if record.stored_signers else "")
            item = replace(item, slot=spec.slot, role=spec.role.value, signer_tax_id=tax_id)
        out.append(replace(item, signer_tax_id=cpf_cnpj(item.signer_tax_id)) if item.signer_tax_id else item)
    return tuple(sorted(out, key=lambda e: e.position))


def completion_info(ws: Workspace, record: DocumentRecord, evidence: Sequence[ClientEvidence] | ClientEvidence,
                    original: VersionRecord, signed: VersionRecord, trail: Sequence[EventRecord]) -> CompletionInfo:
    """What the certificate of completion prints for a document: parties, its audit trail, its versions' hashes,
    who receives a copy."""
    company_event = next((e for e in trail if e.stage is Stage.COMPANY_SIGNED), None)
    return CompletionInfo(
        document_id=record.id, title=record.title, company=ws.company.party,
        counterparty=_counterparty(record, evidence),
        company_signer_name=ws.company.director_name, company_signer_title=ws.company.director_title,
        company_signed_at=company_event.at if company_event else signed.created_at,
        events=tuple(AuditEvent(at=e.at, action=e.action, actor=e.actor, channel=e.channel, ip=e.ip,
                                user_agent=e.user_agent, detail=e.detail) for e in trail),
        sha256_original=original.sha256, sha256_company_signed=signed.sha256,
        verify_url=ws.settings.verify_url(record.id),
        locale=ws.company.language, timezone=ws.company.timezone,
        copies=tuple(copy_recipients(record.signers)),
        unsigned=_unsigned(record, evidence, trail),
    )


def _unsigned(record: DocumentRecord, evidence: Sequence[ClientEvidence] | ClientEvidence,
              trail: Sequence[EventRecord]) -> tuple[tuple[SignerSpec, str], ...]:
    """The optional signers who did not sign, with what they did instead (``declined``, or ``expired``: their link
    lapsed), as the audit trail records it."""
    items = [evidence] if isinstance(evidence, ClientEvidence) else list(evidence)
    signed = {item.position for item in items}
    out = []
    for spec in signing_signers(record.signers):
        if spec.position in signed:
            continue
        label = f"({signer_label(spec)})"
        declined = any(e.action == "signer_declined" and e.detail.endswith(label) for e in trail)
        out.append((spec, "declined" if declined else "expired"))
    return tuple(sorted(out, key=lambda item: item[0].position))


def _counterparty(record: DocumentRecord, evidence: Sequence[ClientEvidence] | ClientEvidence) -> Party:
    """The counterparty as the ledger recorded it, represented by its first signer who signed."""
    items = sorted([evidence] if isinstance(evidence, ClientEvidence) else evidence, key=lambda e: e.position)
    specs = {spec.position: spec for spec in record.signers}

    def for_client(item: ClientEvidence) -> bool:
        spec = specs.get(item.position)
        if spec is not None:
            return spec.role is SignerRole.SIGNER and spec.side is SignerSide.CLIENT
        return item.role == "signer" and item.slot.startswith("client")

    first = next((e for e in items if for_client(e)), items[0] if items else None)
    name = first.signer_name if first is not None else ""
    return Party(name=record.counterparty_name or name, tax_id=record.counterparty_tax_id,
                 representative=name, email=record.counterparty_email, phone=record.counterparty_phone)
