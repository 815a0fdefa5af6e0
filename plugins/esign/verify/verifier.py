"""The verdict on a PDF: ``authentic``, ``incomplete``, ``altered`` or ``unknown``, with reasons as codes.

* authentic: the completed, sealed final version of a document, byte for byte (with the ledger: its SHA-256 is
  the final version's; offline: its only signature is the company's seal, valid, trusted and in its place, with
  nothing after it). Nothing else is authentic.
* incomplete: a version issued here before the final one (the rendered original, the company-signed version),
  unchanged; the reasons and ``stage`` say where the document is now (the client has not signed, declined...).
* altered: the file claims to be one of ours (its ID, or a signature by our CA) but its bytes, a signature or the
  file's structure do not match; the reasons say what.
* unknown: not issued here, not a PDF, or too large or complex to examine within the limits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cryptography import x509

from esign.model import Stage
from esign.store import Ledger, VersionRecord, sha256_hex
from esign.verify.examine import Examination, examine
from esign.verify.identify import looks_like_pdf
from esign.verify.reasons import Reason, reason
from esign.verify.signatures import SignatureCheck, SignatureScan

AUTHENTIC = "authentic"
INCOMPLETE = "incomplete"
ALTERED = "altered"
UNKNOWN = "unknown"
#: The CLI's exit code per status (2 is a usage or configuration error).
EXIT_CODES = {AUTHENTIC: 0, ALTERED: 1, INCOMPLETE: 3, UNKNOWN: 4}

#: The signature fields of the versions we issue (esign.signing names them; verify does not import signing).
SEAL_FIELD = "esign_seal"
COMPANY_FIELD = "esign_company"

#: Bounds checked on the raw bytes before any parser runs (ours are < 1 MB with a few hundred objects).
MAX_PDF_BYTES = 50 * 1024 * 1024
MAX_OBJECTS = 50_000
_OBJECT_HEADER = re.compile(rb"\d+\s+\d+\s+obj\b")
_DECLARED_SIZE = re.compile(rb"/Size\s+(\d{1,12})")

#: What an earlier version means, by the document's current stage.
_STAGE_REASONS = {
    Stage.DRAFT: "stage_waiting_client", Stage.COMPANY_SIGNED: "stage_waiting_client",
    Stage.SENT: "stage_waiting_client", Stage.VIEWED: "stage_waiting_client",
    Stage.CLIENT_SIGNED: "stage_sealing", Stage.COMPLETED: "stage_completed_elsewhere",
    Stage.DECLINED: "stage_declined", Stage.EXPIRED: "stage_expired", Stage.CANCELED: "stage_canceled",
    Stage.FAILED: "stage_failed", Stage.QUARANTINED: "stage_failed",
}

#: Reads the untrusted file (in this process, or in a sandbox): bytes, trust roots -> examination.
Examiner = Callable[[bytes, Sequence[x509.Certificate]], Examination]


@dataclass(slots=True)
class VerificationResult:
    status: str
    sha256: str
    document_id: str | None = None
    version: str | None = None  # which issued version the bytes are: rendered, company_signed, final
    stage: str | None = None  # the document's current stage in the ledger
    title: str | None = None
    reasons: list[Reason] = field(default_factory=list)
    signatures: list[SignatureCheck] = field(default_factory=list)
    offline: bool = False

    @property
    def authentic(self) -> bool:
        return self.status == AUTHENTIC

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def trusted_time(self) -> str | None:
        """The timestamp of the seal (or of the only signature), when it is valid and trusted."""
        return next((s.timestamp for s in self.signatures if s.timestamp), None)

    def reason_texts(self) -> list[str]:
        """The reasons in English, for logs."""
        return [r.english() for r in self.reasons]

    def to_dict(self) -> dict[str, object]:
        return {
            "status": self.status, "document_id": self.document_id, "sha256": self.sha256,
            "version": self.version, "stage": self.stage, "title": self.title, "offline": self.offline,
            "trusted_time": self.trusted_time,
            "reasons": [r.to_dict() for r in self.reasons],
            "signatures": [s.to_dict() for s in self.signatures],
        }


def verify_pdf(data: bytes, ledger: Ledger | None, trust_roots: Sequence[x509.Certificate], *,
               examiner: Examiner = examine) -> VerificationResult:
    """Examine ``data``; never raises for bad input. Without a ledger the same checks run, the ledger's are said
    to be missing, and only the seal can make a file authentic."""
    digest = sha256_hex(data)
    if not looks_like_pdf(data):
        return VerificationResult(UNKNOWN, digest, reasons=[reason("not_pdf")], offline=ledger is None)
    exam = _refused(data) or examiner(data, trust_roots)
    result = VerificationResult(UNKNOWN, digest, document_id=exam.document_id, signatures=list(exam.scan.checks),
                                offline=ledger is None)
    if exam.refused is not None:
        result.reasons.append(exam.refused)
        return result
    problems = [*exam.scan.problems, *(p for c in exam.scan.checks for p in c.problems)]
    if ledger is None:
        return _judge_offline(result, problems)
    issued = ledger.versions_by_sha256(digest)
    if issued:
        return _judge_issued(result, issued[0], ledger, problems)
    return _judge_foreign(result, ledger, problems)


def _refused(data: bytes) -> Examination | None:
    """Why the file is too costly to examine, from the raw bytes before any parser runs; else None."""
    if len(data) > MAX_PDF_BYTES:
        why = reason("too_large", size=len(data), limit=MAX_PDF_BYTES)
        return Examination(None, SignatureScan(()), why)
    declared = max((int(m.group(1)) for m in _DECLARED_SIZE.finditer(data)), default=0)
    # every object header contains "obj": the C-speed count bounds the regex count (which costs ~15 ms on a
    # 180 kB file), so the regex only runs for a file that could be over the limit
    headers = data.count(b"obj")
    if headers > MAX_OBJECTS:
        headers = sum(1 for _ in _OBJECT_HEADER.finditer(data))
    if (count := max(declared, headers)) > MAX_OBJECTS:
        return Examination(None, SignatureScan(()), reason("too_many_objects", count=count, limit=MAX_OBJECTS))
    return None


def _is_sealed_final(checks: Sequence[SignatureCheck], problems: Sequence[Reason]) -> bool:
    """One signature, the seal, valid and trusted, whose revision is the file's last with nothing after it."""
    return not problems and len(checks) == 1 and checks[0].field == SEAL_FIELD and checks[0].ok


def _is_company_signed(checks: Sequence[SignatureCheck], problems: Sequence[Reason]) -> bool:
    return not problems and len(checks) == 1 and checks[0].field == COMPANY_FIELD and checks[0].ok


def _judge_issued(result: VerificationResult, version: VersionRecord, ledger: Ledger,
                  problems: list[Reason]) -> VerificationResult:
    record = ledger.get(version.document_id)
    result.document_id, result.version = record.id, version.kind
    result.stage, result.title = record.stage.value, record.title
    checks = result.signatures
    if version.kind == "final":
        if _is_sealed_final(checks, problems):
            result.status = AUTHENTIC
            result.reasons.append(reason("issued_final"))
        else:  # our own bytes, yet not a sound seal: say exactly what fails
            result.status = ALTERED
            result.reasons.extend(problems or [reason("not_final_seal")])
        return result
    if version.kind == "company_signed" and not checks:
        problems = [reason("issued_unsigned_version"), *problems]
    if problems:
        result.status = ALTERED
        result.reasons.extend(problems)
        return result
    result.status = INCOMPLETE
    result.reasons.append(reason("intermediate_company_signed" if version.kind == "company_signed"
                                 else "intermediate_rendered"))
    result.reasons.append(reason(_STAGE_REASONS.get(record.stage, "stage_waiting_client")))
    return result


def _judge_foreign(result: VerificationResult, ledger: Ledger, problems: list[Reason]) -> VerificationResult:
    """Bytes the ledger does not know: altered when they claim to be ours, else unknown."""
    claimed = result.document_id
    record = ledger.maybe_get(claimed) if claimed else None
    if record is not None:
        result.status = ALTERED
        result.stage, result.title = record.stage.value, record.title
        result.reasons.append(reason("hash_mismatch", document=record.id))
        result.reasons.extend(problems)
        return result
    if any(c.intact and c.valid and c.trusted for c in result.signatures):
        result.status = ALTERED
        result.reasons.append(reason("signed_not_issued"))
        result.reasons.extend(problems)
        return result
    result.reasons.append(reason("claimed_not_issued", document=claimed) if claimed else reason("not_issued"))
    return result


def _judge_offline(result: VerificationResult, problems: list[Reason]) -> VerificationResult:
    """The same structural and cryptographic checks; what only the ledger knows is said to be unchecked."""
    checks = result.signatures
    if _is_sealed_final(checks, problems):
        result.status = AUTHENTIC
        result.reasons.append(reason("offline_seal_ok"))
    elif _is_company_signed(checks, problems):
        result.status = INCOMPLETE
        result.reasons.append(reason("intermediate_company_signed"))
    elif checks or problems:
        if result.document_id or any(c.trusted for c in checks):  # claims to be ours, and does not hold
            result.status = ALTERED
            result.reasons.extend(problems or [reason("not_final_seal")])
        else:  # signed by someone we do not trust, or unreadable, and not claiming to be ours
            result.reasons.extend([*problems, reason("not_issued")])
    else:
        result.reasons.extend([reason("no_signature"), reason("offline_unsigned")])
    result.reasons.append(reason("offline_no_ledger"))
    return result
