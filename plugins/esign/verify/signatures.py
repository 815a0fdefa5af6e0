"""Every embedded signature: its cryptography and trust (pyHanko), and where it sits (our own structural check).

pyHanko answers "is the CMS intact, valid, trusted, certified, timestamped?" with the company's trust roots and
the validation data the file carries (its DSS: certificates and revocation lists), never fetching anything.
Whether a signature covers the file is *not* taken from pyHanko (see :mod:`esign.verify.structure`).

Never raises for a bad file: a file that cannot be parsed gives reasons instead, because the verifier must give
a verdict on anything a stranger uploads.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    EmbeddedPdfSignature,
    read_certification_data,
    validate_pdf_signature,
)
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

from esign.core import hexstrings
from esign.core.eventloop import outside_event_loop
from esign.verify.pdfsyntax import Ref
from esign.verify.reasons import Reason, reason
from esign.verify.revisions import RevisionError, Revisions, read_revisions
from esign.verify.structure import Placement, place_signature

log = logging.getLogger(__name__)
hexstrings.install()

#: A file with more signatures than this is refused (each validation costs time; ours carry one).
MAX_SIGNATURES = 20


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """What one embedded signature says about the file."""

    field: str
    signer: str
    signed_at: str | None  # as the signer's clock said (not proof)
    intact: bool
    valid: bool
    trusted: bool
    covers_entire_file: bool  # by our structural check: its revision is the last, nothing follows
    certified: bool = False  # a certification signature permitting no changes (DocMDP P=1)
    timestamp: str | None = None  # the trusted time of its RFC 3161 timestamp, when valid and trusted
    revision: int | None = None  # index of the revision it signs (0: the original file)
    problems: tuple[Reason, ...] = ()

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted and self.covers_entire_file and not self.problems

    def to_dict(self) -> dict[str, object]:
        return {
            "field": self.field, "signer": self.signer, "signed_at": self.signed_at, "timestamp": self.timestamp,
            "intact": self.intact, "valid": self.valid, "trusted": self.trusted, "certified": self.certified,
            "covers_entire_file": self.covers_entire_file, "revision": self.revision, "ok": self.ok,
            "problems": [p.to_dict() for p in self.problems],
        }


@dataclass(frozen=True, slots=True)
class SignatureScan:
    checks: tuple[SignatureCheck, ...]
    problems: tuple[Reason, ...] = ()  # problems of the file itself


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def check_signatures(data: bytes, trust_roots: Sequence[x509.Certificate], moment: datetime | None = None) -> \
        SignatureScan:
    """Validate each signature (as of ``moment``, default now) and check where it sits."""
    return outside_event_loop(_check_signatures, data, trust_roots, moment)


def _check_signatures(data: bytes, trust_roots: Sequence[x509.Certificate], moment: datetime | None) -> \
        SignatureScan:
    problems: list[Reason] = []
    revisions: Revisions | None = None
    try:
        revisions = read_revisions(data)
        if revisions.trailing:
            problems.append(reason("bytes_after_last_revision", count=revisions.trailing))
    except RevisionError as exc:
        problems.append(reason("revisions_unreadable", detail=str(exc)))
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        embedded = list(reader.embedded_signatures)
    except MemoryError:  # out of the sandbox's memory: the sandbox says so, not 'unreadable'
        raise
    except Exception as exc:  # pyHanko raises many types on malformed input; all mean "unreadable"
        log.debug("pyHanko cannot read the signatures: %s", exc)
        return SignatureScan((), (*problems, reason("unreadable")))
    if len(embedded) > MAX_SIGNATURES:
        return SignatureScan((), (*problems, reason("too_many_signatures", count=len(embedded),
                                                     limit=MAX_SIGNATURES)))
    contexts = _contexts(reader, trust_roots, moment)
    certification = _certification(reader)
    checks = [_check_one(sig, data, revisions, contexts, certification) for sig in embedded]
    return SignatureScan(tuple(checks), tuple(problems))


def _contexts(reader: PdfFileReader, trust_roots: Sequence[x509.Certificate],
              now: datetime | None) -> Callable[[datetime | None], ValidationContext]:
    """Validation contexts as of a time (None: ``now``): the company's roots, plus the certificates and revocation
    lists the file's DSS carries; nothing is fetched."""
    roots = [_to_asn1(c) for c in trust_roots]
    try:
        dss: DocumentSecurityStore | None = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        dss = None
    except MemoryError:  # out of the sandbox's memory: the sandbox says so, not 'unreadable'
        raise
    except Exception as exc:  # a damaged DSS is no reason to stop: validation goes on without its data
        log.debug("the DSS cannot be read: %s", exc)
        dss = None

    def at(moment: datetime | None) -> ValidationContext:
        settings: dict[str, object] = {"trust_roots": roots, "allow_fetching": False}
        if moment or now:
            settings["moment"] = moment or now
        return dss.as_validation_context(settings) if dss is not None else ValidationContext(**settings)  # type: ignore[arg-type]

    return at


def _certification(reader: PdfFileReader) -> tuple[int, int] | None:
    """The (object, generation) of the certification signature's dictionary when it permits no changes."""
    try:
        info = read_certification_data(reader)
        if info is None or info.permission is not MDPPerm.NO_CHANGES:
            return None
        ref = reader.root["/Perms"].raw_get("/DocMDP")
        return (ref.idnum, ref.generation) if isinstance(ref, generic.IndirectObject) else None
    except MemoryError:  # out of the sandbox's memory: the sandbox says so, not 'unreadable'
        raise
    except Exception as exc:  # odd /Perms: simply not certified
        log.debug("cannot read the certification data: %s", exc)
        return None


def _check_one(sig: EmbeddedPdfSignature, data: bytes, revisions: Revisions | None,
               contexts: Callable[[datetime | None], ValidationContext],
               certification: tuple[int, int] | None) -> SignatureCheck:
    name = str(getattr(sig, "field_name", "") or "")
    value = sig.sig_field.raw_get("/V")
    ref = Ref(value.idnum, value.generation) if isinstance(value, generic.IndirectObject) else None
    placement = _placement(data, revisions, name, ref)
    try:
        status = _validate(sig, contexts)
    except MemoryError:  # out of the sandbox's memory: the sandbox says so, not 'unreadable'
        raise
    except Exception as exc:  # a broken signature dictionary: invalid, with the reason
        detail = f"{type(exc).__name__}: {exc}"[:200]
        return SignatureCheck(name, "", None, False, False, False, False, revision=placement.revision,
                              problems=(reason("signature_unreadable", field=name, detail=detail),
                                        *placement.problems))
    stamp = status.timestamp_validity
    trusted_time = (stamp.timestamp.isoformat() if stamp is not None and stamp.intact and stamp.valid
                    and stamp.trusted else None)
    return SignatureCheck(
        field=name, signer=_signer_name(status.signing_cert),
        signed_at=status.signer_reported_dt.isoformat() if status.signer_reported_dt else None,
        intact=bool(status.intact), valid=bool(status.valid), trusted=bool(status.trusted),
        covers_entire_file=placement.covers_to_end,
        certified=ref is not None and certification == (ref.num, ref.gen),
        timestamp=trusted_time, revision=placement.revision, problems=_crypto_problems(name, status) +
        placement.problems,
    )


def _validate(sig: EmbeddedPdfSignature, contexts: Callable[[datetime | None], ValidationContext]) -> \
        PdfSignatureStatus:
    """pyHanko's validation now; when the certificates no longer are valid now (expired since), as of the
    signature's timestamp, provided that the timestamp itself is valid and trusted then (PAdES B-T/B-LT: the
    timestamp proves the signature existed while they were valid; the DSS says they were not revoked)."""
    context = contexts(None)
    status = validate_pdf_signature(sig, context, context, skip_diff=True)
    stamp = status.timestamp_validity
    if status.trusted or not (status.intact and status.valid) or stamp is None:
        return status
    then = contexts(stamp.timestamp)
    earlier = validate_pdf_signature(sig, then, then, skip_diff=True)
    proven = earlier.timestamp_validity is not None and earlier.timestamp_validity.trusted
    return earlier if earlier.trusted and proven else status


def _signer_name(cert: asn1_x509.Certificate | None) -> str:
    """"Name (Organization)" from the certificate's subject: no attribute labels, which are English."""
    if cert is None:
        return ""
    subject = cert.subject.native
    names = [subject.get("common_name"), subject.get("organization_name")]
    common, organization = (", ".join(v) if isinstance(v, list) else str(v or "") for v in names)
    return f"{common} ({organization})" if common and organization else common or organization


def _placement(data: bytes, revisions: Revisions | None, name: str, ref: Ref | None) -> Placement:
    if ref is None:
        return Placement(None, 0, (reason("signature_dict_missing", field=name),))
    if revisions is None:
        return Placement(None, 0, ())  # the file-level reason already says the revisions cannot be read
    return place_signature(data, revisions, name, ref)


def _crypto_problems(name: str, status: object) -> tuple[Reason, ...]:
    found: list[Reason] = []
    if not getattr(status, "intact", False):
        found.append(reason("signature_bytes_changed", field=name))
    elif not getattr(status, "valid", False):
        found.append(reason("signature_invalid", field=name))
    if not getattr(status, "trusted", False):
        found.append(reason("signer_not_trusted", field=name))
    return tuple(found)
