"""Company keys: a demo CA + director certificate on first run, or the company's own PKCS#12.

Private keys never leave encrypted files; they are decrypted once per process by :func:`load_identity`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from esign.errors import KeysError, ValidationError
from esign.signing._files import write_private_atomic
from esign.signing.crl import CRL_NAME, publish_crl
from esign.signing.tsa import TSA_P12_NAME

P12_NAME = "director.p12"
CA_CERT_NAME = "company-ca.pem"
CA_KEY_NAME = "company-ca.key"

#: Keys we can sign with (pyHanko and pdfsig both validate these).
SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class KeyPaths:
    """Where :func:`init_keys` put the files."""

    p12: Path
    ca_cert: Path
    ca_key: Path
    tsa_p12: Path  # the demo time-stamping authority's key and certificate
    crl: Path  # the demo CA's revocation list


@dataclass(frozen=True, slots=True)
class SigningIdentity:
    """A decrypted signing key with its certificate and chain (load once per process)."""

    cert: x509.Certificate
    key: SigningKey
    chain: tuple[x509.Certificate, ...]  # other certificates from the PKCS#12 / CA file, root included
    ca_cert: x509.Certificate | None  # the trust root, when known
    source: Path


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _require_text(field: str, value: str) -> None:
    if not value or not value.strip():
        raise ValidationError(field, "must not be empty")
    if len(value) > 64:
        raise ValidationError(field, "must be at most 64 characters (X.509 name limit)")


def _new_key() -> rsa.RSAPrivateKey:
    # RSA-2048: validated by poppler's pdfsig and every PDF viewer.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _make_ca(key: rsa.RSAPrivateKey, company: str, start: datetime, end: datetime) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{company} CA"[:64]),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, company)])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     key_cert_sign=True, crl_sign=True, encipher_only=False,
                                     decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )


def _end_entity(name: x509.Name, key: rsa.RSAPrivateKey, ca_key: rsa.RSAPrivateKey, ca: x509.Certificate,
                start: datetime, end: datetime, time_stamping: bool = False) -> x509.Certificate:
    """A signing certificate issued by the CA; ``time_stamping`` makes it a TSA's (RFC 3161 §2.3: the critical
    extended key usage timeStamping, and nothing else)."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     key_cert_sign=False, crl_sign=False, encipher_only=False,
                                     decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if time_stamping:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    return builder.sign(ca_key, hashes.SHA256())


def _make_director(key: rsa.RSAPrivateKey, ca_key: rsa.RSAPrivateKey, ca: x509.Certificate, company: str,
                   director: str, title: str, start: datetime, end: datetime) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, director),
                      x509.NameAttribute(NameOID.TITLE, title),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, company)])
    return _end_entity(name, key, ca_key, ca, start, end)


def _make_tsa(key: rsa.RSAPrivateKey, ca_key: rsa.RSAPrivateKey, ca: x509.Certificate, company: str,
              start: datetime, end: datetime) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{company} TSA"[:64]),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, company)])
    return _end_entity(name, key, ca_key, ca, start, end, time_stamping=True)


def _p12_encryption(passphrase: bytes) -> serialization.KeySerializationEncryption:
    return (serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(100_000)
            .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
            .hmac_hash(hashes.SHA256())
            .build(passphrase))


def init_keys(keys_dir: Path, passphrase: bytes, company_name: str, director_name: str, director_title: str,
              valid_days: int = 825, now: datetime | None = None, force: bool = False) -> KeyPaths:
    """Create the demo company CA, the director's certificate, the demo TSA's certificate and the CA's first CRL;
    private keys are stored encrypted with ``passphrase``.

    Refuses to overwrite existing keys unless ``force`` (losing a key silently would orphan every
    document signed with it).
    """
    if not passphrase:
        raise ValidationError("passphrase", "must not be empty (private keys are stored encrypted)")
    _require_text("company_name", company_name)
    _require_text("director_name", director_name)
    _require_text("director_title", director_title)
    if valid_days < 1:
        raise ValidationError("valid_days", f"must be at least 1, got {valid_days}")
    paths = KeyPaths(p12=keys_dir / P12_NAME, ca_cert=keys_dir / CA_CERT_NAME, ca_key=keys_dir / CA_KEY_NAME,
                     tsa_p12=keys_dir / TSA_P12_NAME, crl=keys_dir / CRL_NAME)
    existing = [p.name for p in (paths.p12, paths.ca_cert, paths.ca_key, paths.tsa_p12) if p.exists()]
    if existing and not force:
        raise KeysError(f"refusing to overwrite existing keys in {keys_dir}: {', '.join(existing)} "
                        "(pass force=True to replace them)")
    try:
        keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise KeysError(f"cannot create keys folder {keys_dir}: {exc.strerror}") from exc

    start = _utc(now) - timedelta(minutes=5)  # tolerate small clock skew between machines
    end = start + timedelta(days=valid_days)
    ca_key, director_key, tsa_key = _new_key(), _new_key(), _new_key()
    ca = _make_ca(ca_key, company_name, start, end)
    cert = _make_director(director_key, ca_key, ca, company_name, director_name, director_title, start, end)
    tsa = _make_tsa(tsa_key, ca_key, ca, company_name, start, end)

    p12 = pkcs12.serialize_key_and_certificates(director_name.encode(), director_key, cert, [ca],
                                                _p12_encryption(passphrase))
    tsa_p12 = pkcs12.serialize_key_and_certificates(b"tsa", tsa_key, tsa, [ca], _p12_encryption(passphrase))
    ca_key_pem = ca_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.BestAvailableEncryption(passphrase))
    try:
        paths.crl.unlink(missing_ok=True)  # a CRL of a replaced CA would not verify
        write_private_atomic(paths.ca_key, ca_key_pem)
        write_private_atomic(paths.p12, p12)
        write_private_atomic(paths.tsa_p12, tsa_p12)
        write_private_atomic(paths.ca_cert, ca.public_bytes(serialization.Encoding.PEM))
        publish_crl(keys_dir, ca, ca_key, _utc(now))
    except OSError as exc:
        raise KeysError(f"cannot write keys in {keys_dir}: {exc.strerror}") from exc
    return paths


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise KeysError(f"{what} not found: {path}") from exc
    except OSError as exc:
        raise KeysError(f"cannot read {what} {path}: {exc.strerror}") from exc


def _load_ca_file(path: Path) -> list[x509.Certificate]:
    data = _read(path, "CA certificate file")
    try:
        return x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data \
            else [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise KeysError(f"CA certificate file {path} is not a PEM or DER certificate") from exc


def _is_self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _check_key_matches(cert: x509.Certificate, key: SigningKey, path: Path) -> None:
    data = b"esign key check"
    try:
        if isinstance(key, rsa.RSAPrivateKey):
            pub = cert.public_key()
            assert isinstance(pub, rsa.RSAPublicKey)
            pub.verify(key.sign(data, padding.PKCS1v15(), hashes.SHA256()), data, padding.PKCS1v15(),
                       hashes.SHA256())
        else:
            pub_ec = cert.public_key()
            assert isinstance(pub_ec, ec.EllipticCurvePublicKey)
            pub_ec.verify(key.sign(data, ec.ECDSA(hashes.SHA256())), data, ec.ECDSA(hashes.SHA256()))
    except (AssertionError, InvalidSignature) as exc:
        raise KeysError(f"the private key in {path} does not belong to its certificate") from exc


def _check_key_usage(cert: x509.Certificate, path: Path) -> None:
    """Validators reject signatures from certificates not meant for signing: fail at load, not per document."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not (usage.digital_signature or usage.content_commitment):
        raise KeysError(f"certificate in {path} is not allowed to sign documents (key usage lacks "
                        "digitalSignature and nonRepudiation)")


def load_identity(p12_path: Path, passphrase: bytes, ca_cert_path: Path | None = None,
                  now: datetime | None = None) -> SigningIdentity:
    """Decrypt a PKCS#12 (ours or the company's own) and check the certificate can sign ``now``."""
    data = _read(p12_path, "PKCS#12 file")
    try:
        key, cert, others = pkcs12.load_key_and_certificates(data, passphrase)
    except ValueError as exc:
        raise KeysError(f"cannot open {p12_path}: wrong passphrase, or not a PKCS#12 file") from exc
    if key is None or cert is None:
        raise KeysError(f"{p12_path} must hold a private key and its certificate")
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise KeysError(f"{p12_path}: unsupported key type {type(key).__name__} (use RSA or ECDSA)")
    _check_key_matches(cert, key, p12_path)
    _check_key_usage(cert, p12_path)

    at = _utc(now)
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    if at < start:
        raise KeysError(f"certificate in {p12_path} is not valid yet: valid from {start.isoformat()} "
                        f"to {end.isoformat()}, now is {at.isoformat()}")
    if at > end:
        raise KeysError(f"certificate in {p12_path} has expired: valid from {start.isoformat()} "
                        f"to {end.isoformat()}, now is {at.isoformat()}")

    chain = [c for c in others if c != cert]
    if ca_cert_path is not None:
        chain += [c for c in _load_ca_file(ca_cert_path) if c not in chain]
    roots = [c for c in chain if _is_self_signed(c)]
    return SigningIdentity(cert=cert, key=key, chain=tuple(chain), ca_cert=roots[0] if roots else None,
                           source=p12_path)


def describe_identity(identity: SigningIdentity, now: datetime | None = None) -> dict[str, str | int]:
    """A printable summary for ops (CLI, logs): no key material."""
    cert = identity.cert
    fp = cert.fingerprint(hashes.SHA256()).hex().upper()
    left = (cert.not_valid_after_utc - _utc(now)).days
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "sha256_fingerprint": ":".join(fp[i:i + 2] for i in range(0, len(fp), 2)),
        "days_left": left,
        "ca": identity.ca_cert.subject.rfc4514_string() if identity.ca_cert is not None else "",
    }


def load_ca_certificates(path: Path) -> list[x509.Certificate]:
    """The company CA certificate(s) that verification trusts (public; no passphrase)."""
    return _load_ca_file(path)
