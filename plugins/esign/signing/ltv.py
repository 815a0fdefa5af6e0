"""Validation data for PAdES B-LT: the certificates and revocation status a validator needs, embedded as the DSS.

Built once per worker (certificate paths of the signer and of the timestamp authority, checked against the
revocation lists with hard failure: a revoked or unknown-status certificate seals nothing) and rebuilt when the
earliest revocation list it holds is about to expire. Every seal then embeds the same small set of objects.

Revocation lists come from ``ESIGN_CRL_FILE`` when it is set (a company's own CA), else from the demo CA's list
beside its certificate (re-issued here when stale, the CA key being at hand); with neither, the certificates'
distribution points are fetched.
"""

from __future__ import annotations

import asyncio
import fcntl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError, RevokedError
from pyhanko_certvalidator.path import ValidationPath

from esign.core.eventloop import outside_event_loop
from esign.errors import KeysError, SealUnavailableError
from esign.signing.crl import CRL_NAME, is_stale, publish_crl, read_crl
from esign.signing.keys import CA_CERT_NAME, CA_KEY_NAME, SigningIdentity

#: Rebuild this long before the earliest revocation list expires (a seal must never carry an expired one).
REBUILD_BEFORE = timedelta(hours=12)

#: Revocation lists valid at the given time.
CrlSource = Callable[[datetime], list[x509.CertificateRevocationList]]


@dataclass(frozen=True, slots=True)
class ValidationData:
    """What the DSS of every seal holds until ``valid_until``."""

    certs: tuple[asn1_x509.Certificate, ...]
    crls: tuple[asn1_crl.CertificateList, ...]
    ocsps: tuple[asn1_ocsp.OCSPResponse, ...]
    valid_until: datetime


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def demo_crl_source(keys_dir: Path, passphrase: bytes) -> CrlSource:
    """The demo CA's list; re-issued (under a lock: workers share the file) when it is about to expire."""

    def current(now: datetime) -> list[x509.CertificateRevocationList]:
        path = keys_dir / CRL_NAME
        if path.exists() and not is_stale(crl := read_crl(path), now):
            return [crl]
        key_path = keys_dir / CA_KEY_NAME
        if not key_path.exists():
            return [read_crl(path)] if path.exists() else []
        with (keys_dir / ".crl.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if path.exists() and not is_stale(crl := read_crl(path), now):  # another worker re-issued it
                return [crl]
            ca_key = serialization.load_pem_private_key(key_path.read_bytes(), passphrase)
            if not isinstance(ca_key, rsa.RSAPrivateKey):
                raise KeysError(f"{key_path}: the demo CA key must be RSA")
            ca_cert = x509.load_pem_x509_certificate((keys_dir / CA_CERT_NAME).read_bytes())
            return [publish_crl(keys_dir, ca_cert, ca_key, now)]

    return current


def file_crl_source(path: Path) -> CrlSource:
    """A CRL file the company keeps current (``ESIGN_CRL_FILE``); a stale one stops sealing with its name."""

    def current(now: datetime) -> list[x509.CertificateRevocationList]:
        crl = read_crl(path)
        if is_stale(crl, now):
            raise SealUnavailableError(f"ESIGN_CRL_FILE: {path} expires at {crl.next_update_utc}; publish a "
                                       "fresh revocation list (seals must carry current revocation status)")
        return [crl]

    return current


class ValidationDataCache:
    """The current :class:`ValidationData` of one worker: built on first use, rebuilt before it expires."""

    def __init__(self, identity: SigningIdentity, timestamper: TimeStamper,
                 trust_roots: Sequence[x509.Certificate], crl_source: CrlSource,
                 clock: Callable[[], datetime] | None = None) -> None:
        self._identity = identity
        self._timestamper = timestamper
        self._roots = [_asn1(c) for c in trust_roots]
        self._crl_source = crl_source
        self._clock = clock or (lambda: datetime.now(UTC))
        self._data: ValidationData | None = None

    def current(self) -> ValidationData:
        now = self._clock()
        if self._data is None or now >= self._data.valid_until - REBUILD_BEFORE:
            self._data = self._build(now)
        return self._data

    def _build(self, now: datetime) -> ValidationData:
        try:
            crls = self._crl_source(now)
        except KeysError as exc:
            raise SealUnavailableError(f"revocation data: {exc}") from exc
        chain = [_asn1(c) for c in self._identity.chain]
        context = ValidationContext(
            trust_roots=self._roots, other_certs=chain, moment=now, allow_fetching=not crls,
            crls=[asn1_crl.CertificateList.load(c.public_bytes(Encoding.DER)) for c in crls],
            revocation_mode="require",  # every certificate but the root needs current revocation status
        )
        try:
            paths = outside_event_loop(asyncio.run, self._paths(context, chain))
        except RevokedError as exc:
            raise SealUnavailableError(f"a certificate the seal depends on is revoked: {exc}") from exc
        except (PathBuildingError, PathValidationError) as exc:
            raise SealUnavailableError(f"the seal's certificates cannot be validated now: {exc}") from exc
        certs: dict[bytes, asn1_x509.Certificate] = {}
        for path in paths:
            for cert in path.iter_certs(include_root=True):
                certs.setdefault(cert.sha256, cert)
        expiries = [c.next_update_utc for c in crls if c.next_update_utc is not None]
        expiries += [c["tbs_cert_list"]["next_update"].native for c in context.crls
                     if c["tbs_cert_list"]["next_update"].native is not None]
        return ValidationData(certs=tuple(certs.values()), crls=tuple(context.crls), ocsps=tuple(context.ocsps),
                              valid_until=min(expiries, default=now + timedelta(days=1)))

    async def _paths(self, context: ValidationContext, chain: list[asn1_x509.Certificate]) -> list[ValidationPath]:
        signer = CertificateValidator(_asn1(self._identity.cert), intermediate_certs=chain,
                                      validation_context=context)
        paths: list[ValidationPath] = [await signer.async_validate_usage(set())]  # type: ignore[no-untyped-call]
        async for path in self._timestamper.validation_paths(context):  # type: ignore[no-untyped-call]
            paths.append(path)
        return paths

