"""PAdES signatures in one pass, with the key decrypted once per process.

Two kinds: the company's approval signature (baseline B, :meth:`PdfSealer.sign_writer`) and the final seal
(:meth:`PdfSealer.seal_writer`): a certification signature that permits no change (DocMDP P=1), with an RFC 3161
signature timestamp (B-T) and the validation data in the same revision (DSS: certificates and revocation lists,
B-LT), so a validator needs neither the network nor a later update.

pyHanko's stock ``SimpleSigner`` re-parses and re-validates the private key on every signature and,
without ``bytes_reserved``, signs twice to size the signature: together ~8x slower than needed. Its own B-LT
flow validates the signer before every signature; here that is done once per worker (:mod:`esign.signing.ltv`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign import attributes, fields, signers
from pyhanko.sign.general import SigningError as HankoSigningError
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.signers.pdf_signer import PdfSigningSession
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.validation import DocumentSecurityStore
from pyhanko.stamp import NoOpStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from esign.core import hexstrings
from esign.core.eventloop import outside_event_loop
from esign.errors import ConfigError, KeysError, SealUnavailableError, SigningError
from esign.signing.keys import SigningIdentity
from esign.signing.ltv import ValidationDataCache
from esign.signing.stamps import utc

hexstrings.install()

DIGEST = "sha256"
#: Extra room (in bytes of DER) over the measured CMS size; the RSA/ECDSA signature length is fixed
#: but ECDSA DER integers vary by a few bytes.
_RESERVE_MARGIN = 512

#: (page index, x1, y1, x2, y2) in PDF points.
Box = tuple[int, float, float, float, float]


class _CachedSigningCertificate(attributes.SigningCertificateV2Provider):
    """The signing-certificate-v2 attribute from DER computed once: building it costs ~80% of a CMS signature."""

    def __init__(self, signing_cert: asn1_x509.Certificate, der: bytes) -> None:
        super().__init__(signing_cert)
        self._der = der

    async def build_attr_value(self, dry_run: bool = False) -> tsp.SigningCertificateV2:
        return tsp.SigningCertificateV2.load(self._der)


class _LoadedKeySigner(signers.Signer):
    """A pyHanko signer holding an already-decrypted key: no per-signature key parsing, and the signer's
    certificate attribute encoded once (same DER as pyHanko builds, so the signatures are byte-identical)."""

    def __init__(self, identity: SigningIdentity) -> None:
        registry = SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [translate_pyca_cryptography_cert_to_asn1(c) for c in identity.chain])
        cert: asn1_x509.Certificate = translate_pyca_cryptography_cert_to_asn1(identity.cert)
        super().__init__(signing_cert=cert, cert_registry=registry, embed_roots=True)
        self._key = identity.key
        self._signing_cert_der = as_signing_certificate_v2(cert).dump()

    def _signed_attr_providers(self, *args: Any, **kwargs: Any) -> Iterator[attributes.CMSAttributeProvider]:
        # pyHanko internal hook (pinned version): swap in the cached signing-certificate-v2 provider
        for provider in super()._signed_attr_providers(*args, **kwargs):
            if type(provider) is attributes.SigningCertificateV2Provider:
                yield _CachedSigningCertificate(provider.signing_cert, self._signing_cert_der)
            else:
                yield provider

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        return self.sign_raw(data, digest_algorithm)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        hash_algo = get_pyca_cryptography_hash(digest_algorithm)
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), hash_algo)
        return self._key.sign(data, ec.ECDSA(hash_algo))


class _TimedPdfSigner(signers.PdfSigner):
    """PdfSigner whose signing time (/M) is the caller's, so output is reproducible and matches the ledger."""

    def __init__(self, meta: signers.PdfSignatureMetadata, signer: signers.Signer, signed_at: datetime,
                 **kwargs: Any) -> None:
        super().__init__(meta, signer, **kwargs)
        self._signed_at = signed_at

    def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> PdfSigningSession:
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self._signed_at
        return session


@dataclass(frozen=True, slots=True)
class LongTerm:
    """What a final seal needs besides the key: a timestamp authority and the current validation data."""

    timestamper: TimeStamper
    validation: ValidationDataCache


class PdfSealer:
    """Signs PDFs with one identity; build once per process and reuse for every document."""

    def __init__(self, identity: SigningIdentity, long_term: Callable[[], LongTerm] | None = None) -> None:
        """``long_term`` builds what final seals need, on the first seal (company signatures never need it)."""
        self.identity = identity
        self._signer = _LoadedKeySigner(identity)
        self.bytes_reserved = self._measure_reserve()
        self._long_term_factory = long_term
        self._long_term: LongTerm | None = None
        self._seal_reserved: int | None = None

    def _measure_reserve(self, timestamper: TimeStamper | None = None) -> int:
        """Size the /Contents hole once from a dry-run CMS (hex doubles the size); with a timestamper, its token
        is included (the first call asks the TSA once, for a token over a dummy digest)."""
        attrs = PdfCMSSignedAttributes(signing_time=datetime.now(UTC))
        coro = self._signer.async_sign(bytes(32), DIGEST, dry_run=True, use_pades=True, signed_attr_settings=attrs,
                                       timestamper=timestamper)
        cms = outside_event_loop(asyncio.run, coro)
        return (len(cms.dump()) + _RESERVE_MARGIN) * 2

    def sign(self, pdf: bytes, field_name: str, *, reason: str, location: str, signer_name: str,
             signed_at: datetime, box: Box | None = None) -> bytes:
        """Add a PAdES-B (ETSI.CAdES.detached) signature covering the whole file as an incremental update.

        ``box`` places the signature widget (no appearance of its own: visible blocks are page content);
        without it the signature is invisible.
        """
        if not field_name or not field_name.strip():
            raise SigningError("field_name: must not be empty")
        try:
            writer = IncrementalPdfFileWriter(BytesIO(pdf))
        except (PdfError, ValueError, KeyError, TypeError) as exc:
            raise SigningError(f"pdf: not a readable PDF ({exc})") from exc
        return self.sign_writer(writer, field_name, reason=reason, location=location, signer_name=signer_name,
                                signed_at=signed_at, box=box)

    def sign_writer(self, writer: IncrementalPdfFileWriter, field_name: str, *, reason: str, location: str,
                    signer_name: str, signed_at: datetime, box: Box | None = None) -> bytes:
        """``sign`` over an incremental writer the caller has already changed: the changes and the signature
        go out as one incremental update, and the signature covers the whole file (the changes included)."""
        if not field_name or not field_name.strip():
            raise SigningError("field_name: must not be empty")
        spec = None
        if box is not None:
            page, x1, y1, x2, y2 = box
            pages = int(writer.root["/Pages"]["/Count"])
            if not 0 <= page < pages:
                raise SigningError(f"box: page {page} does not exist (document has {pages} pages)")
            spec = fields.SigFieldSpec(sig_field_name=field_name, on_page=page,
                                       box=(round(x1), round(y1), round(x2), round(y2)))
        meta = signers.PdfSignatureMetadata(
            field_name=field_name, md_algorithm=DIGEST, subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason or None, location=location or None, name=signer_name or None,
        )
        pdf_signer = _TimedPdfSigner(meta, self._signer, utc(signed_at), new_field_spec=spec,
                                     stamp_style=NoOpStampStyle())
        try:
            out = outside_event_loop(pdf_signer.sign_pdf, writer, bytes_reserved=self.bytes_reserved)
        except (HankoSigningError, PdfError, ValueError, KeyError) as exc:
            raise SigningError(f"cannot sign field {field_name!r}: {exc}") from exc
        data: bytes = out.getvalue()
        return data

    def seal_writer(self, writer: BasePdfFileWriter, field_name: str, *, reason: str, signer_name: str,
                    signed_at: datetime) -> bytes:
        """The final seal over ``writer``'s document: certification (no changes permitted), timestamp, DSS.

        Raises :class:`SealUnavailableError` when the TSA or the revocation data are not configured or cannot be
        had now: nothing was sealed, and a later run seals the document.
        """
        long_term = self._long_term_setup()
        timestamper = long_term.timestamper
        try:
            if self._seal_reserved is None:
                self._seal_reserved = self._measure_reserve(timestamper)
            data = long_term.validation.current()
        except OSError as exc:  # pyHanko's TimestampRequestError is an OSError
            raise SealUnavailableError(f"timestamp: {exc}") from exc
        DocumentSecurityStore.supply_dss_in_writer(writer, None, certs=data.certs, crls=data.crls,
                                                   ocsps=data.ocsps)
        meta = signers.PdfSignatureMetadata(
            field_name=field_name, md_algorithm=DIGEST, subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason or None, name=signer_name or None,
            certify=True, docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        )
        pdf_signer = _TimedPdfSigner(meta, self._signer, utc(signed_at), timestamper=timestamper,
                                     stamp_style=NoOpStampStyle())
        try:
            out = outside_event_loop(pdf_signer.sign_pdf, writer, bytes_reserved=self._seal_reserved)
        except OSError as exc:
            raise SealUnavailableError(f"timestamp: {exc}") from exc
        except HankoSigningError as exc:
            if "larger than expected" in str(exc):  # the TSA's tokens grew (a new certificate): size it again
                self._seal_reserved = None
                raise SealUnavailableError(f"seal: the signature outgrew its reserved room ({exc})") from exc
            raise SigningError(f"cannot seal field {field_name!r}: {exc}") from exc
        except (PdfError, ValueError, KeyError) as exc:
            raise SigningError(f"cannot seal field {field_name!r}: {exc}") from exc
        data_out: bytes = out.getvalue()
        return data_out

    def _long_term_setup(self) -> LongTerm:
        if self._long_term is None:
            if self._long_term_factory is None:
                raise SealUnavailableError("seal: this sealer has no timestamp authority (ESIGN_TSA_URL)")
            try:
                self._long_term = self._long_term_factory()
            except (ConfigError, KeysError) as exc:
                raise SealUnavailableError(f"seal: {exc}") from exc
        return self._long_term
