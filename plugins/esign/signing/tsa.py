"""An RFC 3161 time-stamping authority for the demo and the tests, like the demo CA.

Production seals take their timestamp from the TSA configured in ``ESIGN_TSA_URL`` (or the Airflow Connection
``esign_tsa``); where none is configured, the demo's own authority answers, with a certificate issued by the demo CA
for time stamping only. It is served over HTTP by :mod:`esign.signing.tsa_server` (``application/timestamp-query``
in, ``application/timestamp-reply`` out, RFC 3161 §3.4) and can also answer in-process.

Requests are checked as RFC 3161 asks (version 1, a known hash algorithm with an imprint of its length, no policy
or extension we do not support); anything else gets a ``rejection`` with the failure bit that names why.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute

from esign.errors import KeysError

TSA_P12_NAME = "tsa.p12"
#: The demo authority's policy (a UUID-derived OID, RFC 4122 §4.2 arc 2.25): tokens say under which rules
#: they were issued; this one says "the demo TSA of an esign-pipeline installation".
DEMO_POLICY = "2.25.24414241399432800324455978982255152098"
_DIGESTS = {"sha256": (hashes.SHA256(), 32), "sha384": (hashes.SHA384(), 48), "sha512": (hashes.SHA512(), 64)}
#: The largest request we read (a real one is under 100 bytes; extensions included, a few hundred).
MAX_REQUEST_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class TsaIdentity:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...]  # issuers, up to the root


def load_tsa_identity(path: Path, passphrase: bytes) -> TsaIdentity:
    """Open the demo TSA's PKCS#12 (made by ``init_keys``)."""
    try:
        key, cert, others = pkcs12.load_key_and_certificates(path.read_bytes(), passphrase)
    except OSError as exc:
        raise KeysError(f"cannot read the TSA key {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise KeysError(f"cannot open {path}: wrong passphrase, or not a PKCS#12 file") from exc
    if not isinstance(key, rsa.RSAPrivateKey) or cert is None:
        raise KeysError(f"{path} must hold an RSA key and its time-stamping certificate")
    return TsaIdentity(key=key, cert=cert, chain=tuple(others))


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


class Refusal(core.Sequence):  # type: ignore[misc]  # asn1crypto has no type hints
    """A ``TimeStampResp`` without its token (RFC 3161 §2.4.2: the token is OPTIONAL; asn1crypto's class makes
    the field mandatory, so a refusal can be neither encoded nor read with it)."""

    _fields: ClassVar[list[tuple[str, type]]] = [("status", tsp.PKIStatusInfo)]


def _failure(reason: str, text: str) -> bytes:
    assert reason in tsp.PKIFailureInfo._map.values(), reason  # asn1crypto drops unknown bit names silently
    status = tsp.PKIStatusInfo({"status": "rejection", "status_string": [text], "fail_info": {reason}})
    return bytes(Refusal({"status": status}).dump())


class TimeStampAuthority:
    """Answers DER time-stamp requests with DER responses; build once, thread-safe (no mutable state)."""

    def __init__(self, identity: TsaIdentity, clock: Callable[[], datetime] | None = None,
                 policy: str = DEMO_POLICY) -> None:
        self._key = identity.key
        cert = _asn1(identity.cert)
        # DER, not asn1crypto objects: those are re-tagged in place when nested, so sharing one between responses
        # makes every response slower than the last
        self._cert_der = cert.dump()
        self._chain_der = [c.public_bytes(Encoding.DER) for c in identity.chain if c.issuer != c.subject]
        self._clock = clock or (lambda: datetime.now(UTC))
        self._policy = policy
        self._signing_certificate_der = as_signing_certificate_v2(cert).dump()
        self._sid_der = cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber(
            {"issuer": cert.issuer, "serial_number": cert.serial_number})}).dump()
        self._tsa_name_der = asn1_x509.GeneralName({"directory_name": cert.subject}).dump()

    def respond(self, request_der: bytes) -> bytes:
        """A DER ``TimeStampResp`` for any input: a token when the request is good, a rejection saying why."""
        if len(request_der) > MAX_REQUEST_BYTES:
            return _failure("bad_request", "request too large")
        try:
            request = tsp.TimeStampReq.load(request_der, strict=True)
            version, imprint = request["version"].native, request["message_imprint"]
            algorithm, digest = imprint["hash_algorithm"]["algorithm"].native, imprint["hashed_message"].native
            policy, extensions = request["req_policy"].native, request["extensions"].native
            nonce, with_certs = request["nonce"], bool(request["cert_req"].native)
            nonce.native  # noqa: B018 -- read now: a malformed nonce is a malformed request
        except (ValueError, TypeError, KeyError) as exc:
            return _failure("bad_data_format", f"not a DER TimeStampReq ({type(exc).__name__})")
        if version != "v1":
            return _failure("bad_request", "version must be 1")
        if algorithm not in _DIGESTS:
            return _failure("bad_alg", f"hash algorithm {algorithm} is not accepted")
        if len(digest) != _DIGESTS[algorithm][1]:
            return _failure("bad_data_format", f"the imprint is not a {algorithm} digest")
        if policy is not None and policy != self._policy:
            return _failure("unaccepted_policy", f"policy {policy} is not offered")
        if extensions:
            return _failure("unaccepted_extensions", "extensions are not supported")
        token = self._token(imprint, nonce, with_certs)
        status = tsp.PKIStatusInfo({"status": "granted"})
        return bytes(tsp.TimeStampResp({"status": status, "time_stamp_token": token}).dump())

    def _token(self, imprint: tsp.MessageImprint, nonce: core.Integer, with_certs: bool) -> cms.ContentInfo:
        info: dict[str, object] = {
            "version": "v1", "policy": self._policy, "message_imprint": imprint,
            # RFC 3161 §2.4.2: unique per token; 127 random bits make a collision practically impossible
            "serial_number": secrets.randbits(127), "gen_time": self._clock().astimezone(UTC).replace(microsecond=0),
            "accuracy": {"seconds": 1}, "tsa": asn1_x509.GeneralName.load(self._tsa_name_der),
        }
        if nonce.native is not None:
            info["nonce"] = nonce
        tst_info = tsp.TSTInfo(info).dump()
        digest = hashes.Hash(hashes.SHA256())
        digest.update(tst_info)
        signing_certificate = tsp.SigningCertificateV2.load(self._signing_certificate_der)
        signed_attrs = cms.CMSAttributes([
            simple_cms_attribute("content_type", "tst_info"),  # type: ignore[no-untyped-call]
            simple_cms_attribute("message_digest", digest.finalize()),  # type: ignore[no-untyped-call]
            simple_cms_attribute("signing_certificate_v2", signing_certificate),  # type: ignore[no-untyped-call]
        ])
        signature = self._key.sign(signed_attrs.dump(), padding.PKCS1v15(), hashes.SHA256())
        sha256 = algos.DigestAlgorithm({"algorithm": "sha256"})
        signer = cms.SignerInfo({
            "version": "v1", "sid": cms.SignerIdentifier.load(self._sid_der), "digest_algorithm": sha256,
            "signed_attrs": signed_attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}), "signature": signature,
        })
        signed_data: dict[str, object] = {
            "version": "v3", "digest_algorithms": [sha256],
            "encap_content_info": {"content_type": "tst_info", "content": cms.ParsableOctetString(tst_info)},
            "signer_infos": [signer],
        }
        if with_certs:
            signed_data["certificates"] = [asn1_x509.Certificate.load(d) for d in (self._cert_der, *self._chain_der)]
        return cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed_data)})

