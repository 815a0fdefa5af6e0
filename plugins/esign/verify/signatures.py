"""Validate every embedded PDF signature with pyHanko against the company's trust roots.

Never raises for a bad file: a file that cannot be parsed gives a list of problems instead, because the
verifier must give a verdict on anything a stranger uploads.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from esign import hexstrings
from esign.eventloop import outside_event_loop

log = logging.getLogger(__name__)
hexstrings.install()

#: A file with more signatures than this is refused (each validation costs time; ours carry one).
MAX_SIGNATURES = 20


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """What one embedded signature says about the file."""

    field: str
    signer: str
    signed_at: str | None
    intact: bool
    valid: bool
    trusted: bool
    covers_entire_file: bool
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted and self.covers_entire_file

    def to_dict(self) -> dict[str, object]:
        return asdict(self) | {"ok": self.ok}


@dataclass(frozen=True, slots=True)
class SignatureScan:
    checks: tuple[SignatureCheck, ...]
    problems: tuple[str, ...]  # problems reading the file itself


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def check_signatures(data: bytes, trust_roots: Sequence[x509.Certificate]) -> SignatureScan:
    """Validate each signature; coverage must be the entire file for a document to count as intact."""
    return outside_event_loop(_check_signatures, data, trust_roots)


def _check_signatures(data: bytes, trust_roots: Sequence[x509.Certificate]) -> SignatureScan:
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception as exc:  # pyHanko raises many types on malformed input; all mean "unreadable"
        return SignatureScan((), (f"the PDF structure cannot be read for signatures: {_short(exc)}",))
    if len(embedded) > MAX_SIGNATURES:
        return SignatureScan((), (f"the file carries {len(embedded)} signatures (more than {MAX_SIGNATURES})",))
    roots = [_to_asn1(c) for c in trust_roots]
    checks = []
    for sig in embedded:
        name = str(getattr(sig, "field_name", "") or "")
        try:
            context = ValidationContext(trust_roots=roots, allow_fetching=False)
            status = validate_pdf_signature(sig, context)
        except Exception as exc:  # a broken signature dictionary: invalid, with the reason
            checks.append(SignatureCheck(name, "", None, False, False, False, False, _short(exc)))
            continue
        coverage = getattr(status.coverage, "name", str(status.coverage))
        signer = status.signing_cert.subject.human_friendly if status.signing_cert is not None else ""
        signed_at = status.signer_reported_dt.isoformat() if status.signer_reported_dt else None
        checks.append(SignatureCheck(
            field=name, signer=signer, signed_at=signed_at, intact=bool(status.intact), valid=bool(status.valid),
            trusted=bool(status.trusted), covers_entire_file=coverage == "ENTIRE_FILE",
        ))
    return SignatureScan(tuple(checks), ())


def _short(exc: Exception) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:297] + "..."
