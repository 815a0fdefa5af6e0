"""The verdict on a PDF: ``authentic``, ``altered`` or ``unknown``.

* authentic: the exact bytes of a version this system issued (hash found in the ledger), and every
  signature valid, trusted by the company CA and covering the entire file.
* altered: the file claims to be one of our documents (its ID, or a signature by our CA) but its bytes or a
  signature do not match; the reasons say what differs.
* unknown: not issued here (or not a PDF at all).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509

from esign.store import Ledger, VersionRecord, sha256_hex
from esign.verify.identify import claimed_document_id, looks_like_pdf
from esign.verify.signatures import SignatureCheck, check_signatures

AUTHENTIC = "authentic"
ALTERED = "altered"
UNKNOWN = "unknown"

#: Bounds on what a stranger's file may cost: bigger files, or files declaring more objects, are refused unread
#: (ours are well under 1 MB with a few hundred objects; the portal's upload limit is 20 MB).
MAX_PDF_BYTES = 50 * 1024 * 1024
MAX_OBJECTS = 50_000
_OBJECT_HEADER = re.compile(rb"\d+\s+\d+\s+obj\b")
_DECLARED_SIZE = re.compile(rb"/Size\s+(\d{1,12})")

#: Versions that must carry a signature to count as authentic.
_SIGNED_KINDS = frozenset({"company_signed", "final"})


@dataclass(slots=True)
class VerificationResult:
    status: str
    sha256: str
    document_id: str | None = None
    version: str | None = None  # which issued version the bytes are: rendered, company_signed, final
    stage: str | None = None  # the document's current stage in the ledger
    title: str | None = None
    reasons: list[str] = field(default_factory=list)
    signatures: list[SignatureCheck] = field(default_factory=list)

    @property
    def authentic(self) -> bool:
        return self.status == AUTHENTIC

    def to_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "document_id": self.document_id,
            "sha256": self.sha256,
            "version": self.version,
            "stage": self.stage,
            "title": self.title,
            "reasons": list(self.reasons),
            "signatures": [s.to_dict() for s in self.signatures],
        }


def verify_pdf(data: bytes, ledger: Ledger | None, trust_roots: Sequence[x509.Certificate]) -> VerificationResult:
    """Examine ``data``; never raises for bad input. Without a ledger only the signatures decide."""
    digest = sha256_hex(data)
    if not looks_like_pdf(data):
        return VerificationResult(UNKNOWN, digest, reasons=["not a PDF file"])
    if (refused := _over_limits(data)) is not None:
        return VerificationResult(UNKNOWN, digest, reasons=[refused])
    claimed = claimed_document_id(data)
    scan = check_signatures(data, trust_roots)
    result = VerificationResult(UNKNOWN, digest, document_id=claimed, signatures=list(scan.checks))
    result.reasons.extend(scan.problems)
    signature_problems = _signature_problems(scan.checks)
    if ledger is None:
        return _judge_offline(result, scan.checks, signature_problems)
    issued = ledger.versions_by_sha256(digest)
    if issued:
        return _judge_issued(result, issued[0], ledger, signature_problems)
    ours_by_signature = any(c.intact and c.valid and c.trusted for c in scan.checks)
    record = ledger.maybe_get(claimed) if claimed else None
    if record is not None:
        result.status = ALTERED
        result.stage, result.title = record.stage.value, record.title
        known = {v.kind: v.sha256 for v in ledger.versions(record.id)}
        expected = known.get("final") or known.get("company_signed") or known.get("rendered")
        result.reasons.insert(0, f"the file claims to be document {record.id}, but its SHA-256 matches none of "
                                 f"its issued versions (expected {expected or 'a version not issued yet'})")
        result.reasons.extend(signature_problems)
        return result
    if ours_by_signature:
        result.status = ALTERED
        result.reasons.insert(0, "signed with the company's certificate, but these bytes were never issued here")
        result.reasons.extend(signature_problems)
        return result
    result.reasons.insert(0, f"document {claimed} was never issued here" if claimed
                          else "no document issued here has this content")
    return result


def _over_limits(data: bytes) -> str | None:
    """Why the file is too costly to examine, or None. Checked on the raw bytes, before any parser runs."""
    if len(data) > MAX_PDF_BYTES:
        return f"the file is too large to examine ({len(data)} bytes, the limit is {MAX_PDF_BYTES})"
    declared = max((int(m.group(1)) for m in _DECLARED_SIZE.finditer(data)), default=0)
    # every object header contains "obj": the C-speed count bounds the regex count (which costs ~15 ms on a
    # 180 kB file), so the regex only runs for a file that could be over the limit
    headers = data.count(b"obj")
    if headers > MAX_OBJECTS:
        headers = sum(1 for _ in _OBJECT_HEADER.finditer(data))
    if (count := max(declared, headers)) > MAX_OBJECTS:
        return f"the file declares too many objects to examine ({count}, the limit is {MAX_OBJECTS})"
    return None


def _judge_issued(result: VerificationResult, version: VersionRecord, ledger: Ledger,
                  signature_problems: list[str]) -> VerificationResult:
    record = ledger.get(version.document_id)
    result.document_id, result.version = record.id, version.kind
    result.stage, result.title = record.stage.value, record.title
    if version.kind in _SIGNED_KINDS and not result.signatures:
        signature_problems = ["the issued version was signed, but this file carries no signature"]
    if signature_problems:
        result.status = ALTERED
        result.reasons.extend(signature_problems)
        return result
    result.status = AUTHENTIC
    result.reasons.append(_version_note(version.kind))
    return result


def _judge_offline(result: VerificationResult, checks: Sequence[SignatureCheck],
                   signature_problems: list[str]) -> VerificationResult:
    if checks and not signature_problems:
        result.status = AUTHENTIC
        result.reasons.append("every signature is valid, trusted and covers the entire file (ledger not consulted)")
    elif checks:
        result.status = ALTERED
        result.reasons.extend(signature_problems)
    else:
        result.reasons.append("the file carries no signature")
    return result


def _signature_problems(checks: Sequence[SignatureCheck]) -> list[str]:
    problems = []
    for check in checks:
        who = f"signature {check.field or '(unnamed)'}" + (f" by {check.signer}" if check.signer else "")
        if check.problem:
            problems.append(f"{who} cannot be validated: {check.problem}")
            continue
        if not check.intact:
            problems.append(f"{who}: the signed bytes were changed")
        elif not check.valid:
            problems.append(f"{who}: the signature value is invalid")
        if not check.trusted:
            problems.append(f"{who}: the signer is not trusted by the company CA")
        if not check.covers_entire_file:
            problems.append(f"{who}: does not cover the entire file (something was added after signing)")
    return problems


def _version_note(kind: str) -> str:
    return {
        "final": "the completed document, signed by every party and sealed",
        "company_signed": "the company-signed version, before the client signed",
        "rendered": "the unsigned original as rendered",
    }.get(kind, kind)
