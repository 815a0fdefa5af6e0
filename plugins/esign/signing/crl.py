"""The demo CA's certificate revocation list: issued with the keys, re-issued before it goes stale.

A PAdES B-LT seal carries the revocation status of every certificate it depends on (the director's and the
timestamp authority's), so a validator years later needs no network. The demo CA publishes that status as a CRL
file beside its certificate (``company-ca.crl``, DER); a company bringing its own PKCS#12 points
``ESIGN_CRL_FILE`` at its CA's CRL instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from esign.errors import KeysError
from esign.signing._files import write_private_atomic

CRL_NAME = "company-ca.crl"
#: How long a CRL of the demo CA is valid, and how early a worker issues the next one.
CRL_VALIDITY = timedelta(days=7)
CRL_REFRESH_BEFORE = timedelta(days=1)


def issue_crl(ca_cert: x509.Certificate, ca_key: rsa.RSAPrivateKey, number: int, now: datetime,
              revoked: Iterable[tuple[int, datetime]] = ()) -> x509.CertificateRevocationList:
    """A CRL signed by the CA listing ``revoked`` (serial number, revocation time)."""
    builder = (x509.CertificateRevocationListBuilder()
               .issuer_name(ca_cert.subject)
               .last_update(now - timedelta(minutes=5))
               .next_update(now + CRL_VALIDITY)
               .add_extension(x509.CRLNumber(number), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                              critical=False))
    for serial, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build())
    return builder.sign(ca_key, hashes.SHA256())


def read_crl(path: Path) -> x509.CertificateRevocationList:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeysError(f"cannot read the CRL {path}: {exc.strerror}") from exc
    try:
        return (x509.load_pem_x509_crl(data) if data.lstrip().startswith(b"-----BEGIN")
                else x509.load_der_x509_crl(data))
    except ValueError as exc:
        raise KeysError(f"{path} is not a PEM or DER certificate revocation list") from exc


def publish_crl(keys_dir: Path, ca_cert: x509.Certificate, ca_key: rsa.RSAPrivateKey, now: datetime | None = None,
                revoke: Iterable[tuple[int, datetime]] = ()) -> x509.CertificateRevocationList:
    """Issue the next CRL of the demo CA (earlier revocations kept, ``revoke`` added) and write it atomically."""
    now = now or datetime.now(UTC)
    path = keys_dir / CRL_NAME
    number, revoked = 1, dict[int, datetime]()
    if path.exists():
        previous = read_crl(path)
        number_ext = previous.extensions.get_extension_for_class(x509.CRLNumber).value
        number = number_ext.crl_number + 1
        revoked = {r.serial_number: r.revocation_date_utc for r in previous}
    revoked.update(dict(revoke))
    crl = issue_crl(ca_cert, ca_key, number, now, revoked.items())
    write_private_atomic(path, crl.public_bytes(serialization.Encoding.DER), mode=0o644)
    return crl


def is_stale(crl: x509.CertificateRevocationList, now: datetime) -> bool:
    """True when the CRL expires within ``CRL_REFRESH_BEFORE`` (a seal must not carry an expired one)."""
    next_update = crl.next_update_utc
    return next_update is None or next_update - now < CRL_REFRESH_BEFORE
