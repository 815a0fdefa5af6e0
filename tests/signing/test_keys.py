"""Keys: generation, storage, loading and every way loading can fail."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from esign.errors import KeysError, ValidationError
from esign.signing import KeyPaths, SigningIdentity, describe_identity, init_keys, load_identity

from .conftest import PASSPHRASE, make_own_p12


def test_files_are_private_and_ca_key_encrypted(keys: KeyPaths) -> None:
    for path in (keys.p12, keys.ca_cert, keys.ca_key):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(keys.p12.parent.glob("*.tmp"))
    pem = keys.ca_key.read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem
    with pytest.raises(TypeError):  # no password: cryptography refuses an encrypted key
        serialization.load_pem_private_key(pem, password=None)
    assert isinstance(serialization.load_pem_private_key(pem, password=PASSPHRASE), rsa.RSAPrivateKey)


def test_certificates_have_the_right_roles(identity: SigningIdentity) -> None:
    ca = identity.ca_cert
    assert ca is not None
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign is True
    cert = identity.cert
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    cert.verify_directly_issued_by(ca)
    assert isinstance(identity.key, rsa.RSAPrivateKey) and identity.key.key_size == 2048
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Maria Souza"


def test_pkcs12_uses_pbes2_and_sha256_mac(keys: KeyPaths) -> None:
    from asn1crypto import pkcs12 as asn1_pkcs12

    pfx = asn1_pkcs12.Pfx.load(keys.p12.read_bytes())
    algorithms = set()
    for info in pfx.authenticated_safe:
        if info["content_type"].native == "encrypted_data":
            enc = info["content"]["encrypted_content_info"]["content_encryption_algorithm"]
            algorithms.add(enc["algorithm"].native)
        else:
            for bag in asn1_pkcs12.SafeContents.load(info["content"].native):
                if bag["bag_id"].native == "pkcs8_shrouded_key_bag":
                    algorithms.add(bag["bag_value"]["encryption_algorithm"]["algorithm"].native)
    assert algorithms == {"pbes2"}  # not the legacy 3DES/RC2 schemes
    assert pfx["mac_data"]["mac"]["digest_algorithm"]["algorithm"].native == "sha256"


def test_describe_identity(identity: SigningIdentity) -> None:
    now = identity.cert.not_valid_before_utc + timedelta(days=10)
    info = describe_identity(identity, now=now)
    assert "CN=Maria Souza" in str(info["subject"])
    assert "CN=Acme Serviços Ltda CA" in str(info["issuer"])
    assert info["days_left"] == 825 - 10 - 1 or info["days_left"] == 825 - 10
    fp = identity.cert.fingerprint(hashes.SHA256()).hex().upper()
    assert str(info["sha256_fingerprint"]).replace(":", "") == fp
    assert info["not_after"] == identity.cert.not_valid_after_utc.isoformat()
    assert "passphrase" not in str(info).lower() and "PRIVATE" not in str(info)


def test_refuses_to_overwrite_without_force(keys: KeyPaths, tmp_path: Path) -> None:
    before = keys.p12.read_bytes()
    with pytest.raises(KeysError, match="refusing to overwrite"):
        init_keys(keys.p12.parent, PASSPHRASE, "Other", "Someone", "CEO")
    assert keys.p12.read_bytes() == before


def test_force_replaces_keys(tmp_path: Path) -> None:
    first = init_keys(tmp_path, b"one", "Acme", "Ana", "CEO")
    old = first.p12.read_bytes()
    second = init_keys(tmp_path, b"two", "Acme", "Ana", "CEO", force=True)
    assert second.p12.read_bytes() != old
    with pytest.raises(KeysError, match="wrong passphrase"):
        load_identity(second.p12, b"one")
    assert load_identity(second.p12, b"two").ca_cert is not None  # the CA travels inside the PKCS#12


def test_wrong_passphrase(keys: KeyPaths) -> None:
    with pytest.raises(KeysError, match="wrong passphrase") as err:
        load_identity(keys.p12, b"not the passphrase")
    assert "not the passphrase" not in str(err.value)


def test_missing_p12_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "director.p12"
    with pytest.raises(KeysError, match="not found") as err:
        load_identity(missing, PASSPHRASE)
    assert str(missing) in str(err.value)


def test_missing_ca_file_names_the_file(keys: KeyPaths, tmp_path: Path) -> None:
    with pytest.raises(KeysError, match=r"company-ca-missing\.pem"):
        load_identity(keys.p12, PASSPHRASE, tmp_path / "company-ca-missing.pem")


def test_garbage_ca_file(keys: KeyPaths, tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    with pytest.raises(KeysError, match="not a PEM or DER certificate"):
        load_identity(keys.p12, PASSPHRASE, bad)


def test_not_a_pkcs12(tmp_path: Path) -> None:
    junk = tmp_path / "junk.p12"
    junk.write_bytes(b"this is not a pkcs12 file")
    with pytest.raises(KeysError, match=r"junk\.p12"):
        load_identity(junk, PASSPHRASE)


def test_expired_certificate_names_the_dates(tmp_path: Path) -> None:
    past = datetime(2020, 1, 1, tzinfo=UTC)
    paths = init_keys(tmp_path, b"pw", "Acme", "Ana", "CEO", valid_days=30, now=past)
    with pytest.raises(KeysError, match="expired") as err:
        load_identity(paths.p12, b"pw")
    assert "2019-12-31" in str(err.value) and "2020-01-30" in str(err.value)


def test_not_yet_valid_certificate(tmp_path: Path) -> None:
    future = datetime.now(UTC) + timedelta(days=400)
    paths = init_keys(tmp_path, b"pw", "Acme", "Ana", "CEO", now=future)
    with pytest.raises(KeysError, match="not valid yet"):
        load_identity(paths.p12, b"pw")
    # ... and valid at the time it was made for
    assert load_identity(paths.p12, b"pw", now=future + timedelta(days=1)).cert is not None


@pytest.mark.parametrize(("field", "kwargs"), [
    ("passphrase", {"passphrase": b""}),
    ("company_name", {"company_name": "  "}),
    ("director_name", {"director_name": ""}),
    ("director_title", {"director_title": "x" * 65}),
    ("valid_days", {"valid_days": 0}),
])
def test_init_keys_validates_input(tmp_path: Path, field: str, kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"keys_dir": tmp_path / "k", "passphrase": b"pw", "company_name": "Acme",
                               "director_name": "Ana", "director_title": "CEO"}
    args.update(kwargs)
    with pytest.raises(ValidationError) as err:
        init_keys(**args)  # type: ignore[arg-type]
    assert err.value.field == field
    assert not (tmp_path / "k").exists()


def test_company_own_pkcs12_with_separate_root(tmp_path: Path) -> None:
    p12, root = make_own_p12(tmp_path, rsa.generate_private_key(public_exponent=65537, key_size=2048))
    ident = load_identity(p12, b"own-pass", root)
    assert ident.cert.subject.rfc4514_string() == "CN=Own Signer"
    assert ident.ca_cert is not None and ident.ca_cert.subject.rfc4514_string() == "CN=Own Root"
    assert {c.subject.rfc4514_string() for c in ident.chain} == {"CN=Own Intermediate", "CN=Own Root"}
    without_root = load_identity(p12, b"own-pass")
    assert without_root.ca_cert is None
    with pytest.raises(KeysError, match="wrong passphrase"):
        load_identity(p12, PASSPHRASE, root)


def test_key_of_another_certificate_is_refused(identity: SigningIdentity) -> None:
    # cryptography refuses to *write* such a PKCS#12, other tools do not: the check runs on load.
    from esign.signing.keys import _check_key_matches

    for stranger in (rsa.generate_private_key(public_exponent=65537, key_size=2048),
                     ec.generate_private_key(ec.SECP256R1())):
        with pytest.raises(KeysError, match="does not belong"):
            _check_key_matches(identity.cert, stranger, Path("x.p12"))


def test_ecdsa_pkcs12_loads(tmp_path: Path) -> None:
    p12, root = make_own_p12(tmp_path, ec.generate_private_key(ec.SECP256R1()))
    assert isinstance(load_identity(p12, b"own-pass", root).key, ec.EllipticCurvePrivateKey)


def test_certificate_not_meant_for_signing(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Encryption only")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=9))
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=True,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    path = tmp_path / "enc.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(b"e", key, cert, None,
                                                           serialization.BestAvailableEncryption(b"pw")))
    with pytest.raises(KeysError, match="not allowed to sign"):
        load_identity(path, b"pw")
