"""What a final seal depends on besides the key: the demo CA's revocation list, the validation data built from it,
and the timestamp authority; when any is missing, nothing is sealed and the error says what to fix."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from esign.errors import SealUnavailableError
from esign.signing import KeyPaths, PdfSealer, SigningIdentity, init_keys, load_identity
from esign.signing.crl import CRL_VALIDITY, publish_crl, read_crl
from esign.signing.ltv import ValidationDataCache, demo_crl_source, file_crl_source
from esign.signing.pades import LongTerm
from esign.signing.timestamps import HttpTimeStamper, LocalTimeStamper
from esign.signing.tsa import TimeStampAuthority, load_tsa_identity

from .conftest import PASSPHRASE, make_pdf


@pytest.fixture
def own_keys(tmp_path: Path) -> tuple[KeyPaths, SigningIdentity]:
    """Keys of this test only: revoking or re-issuing here must not touch the session's."""
    paths = init_keys(tmp_path / "keys", PASSPHRASE, "Beta Serviços Ltda", "Rita Lima", "Diretora")
    return paths, load_identity(paths.p12, PASSPHRASE, paths.ca_cert)


def _ca(paths: KeyPaths) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    key = serialization.load_pem_private_key(paths.ca_key.read_bytes(), PASSPHRASE)
    assert isinstance(key, rsa.RSAPrivateKey)
    return x509.load_pem_x509_certificate(paths.ca_cert.read_bytes()), key


def _cache(paths: KeyPaths, identity: SigningIdentity, now: list[datetime] | None = None) -> ValidationDataCache:
    assert identity.ca_cert is not None
    stamper = LocalTimeStamper(TimeStampAuthority(load_tsa_identity(paths.tsa_p12, PASSPHRASE)))
    clock = (lambda: now[0]) if now is not None else None
    return ValidationDataCache(identity, stamper, [identity.ca_cert], demo_crl_source(paths.crl.parent, PASSPHRASE),
                               clock=clock)


def test_keys_come_with_a_crl_signed_by_the_ca(keys: KeyPaths, identity: SigningIdentity) -> None:
    crl = read_crl(keys.crl)
    assert identity.ca_cert is not None
    assert crl.is_signature_valid(identity.ca_cert.public_key())  # type: ignore[arg-type]
    assert crl.issuer == identity.ca_cert.subject and len(crl) == 0
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 1
    assert crl.next_update_utc is not None
    assert crl.next_update_utc - crl.last_update_utc >= CRL_VALIDITY


def test_next_crl_keeps_revocations_and_counts_up(own_keys: tuple[KeyPaths, SigningIdentity]) -> None:
    paths, identity = own_keys
    ca, key = _ca(paths)
    when = datetime.now(UTC)
    first = publish_crl(paths.crl.parent, ca, key, revoke=[(identity.cert.serial_number, when)])
    second = publish_crl(paths.crl.parent, ca, key)
    assert [c.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number for c in (first, second)] == [2, 3]
    assert second.get_revoked_certificate_by_serial_number(identity.cert.serial_number) is not None
    assert read_crl(paths.crl) == second


def test_validation_data_holds_both_chains_and_the_crl(own_keys: tuple[KeyPaths, SigningIdentity]) -> None:
    paths, identity = own_keys
    data = _cache(paths, identity).current()
    names = {c.subject.human_friendly for c in data.certs}
    assert any("Rita Lima" in n for n in names) and any("TSA" in n for n in names)
    assert len(data.crls) == 1 and data.valid_until > datetime.now(UTC) + timedelta(days=6)


def test_stale_demo_crl_is_reissued_before_it_expires(own_keys: tuple[KeyPaths, SigningIdentity]) -> None:
    paths, identity = own_keys
    now = [datetime.now(UTC)]
    cache = _cache(paths, identity, now)
    first = cache.current()
    now[0] += CRL_VALIDITY - timedelta(hours=6)  # inside the refresh window of the list and of the cache
    second = cache.current()
    assert second is not first and second.valid_until > first.valid_until
    assert read_crl(paths.crl).extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 2


def test_revoked_director_seals_nothing(own_keys: tuple[KeyPaths, SigningIdentity]) -> None:
    paths, identity = own_keys
    ca, key = _ca(paths)
    publish_crl(paths.crl.parent, ca, key, revoke=[(identity.cert.serial_number, datetime.now(UTC))])
    with pytest.raises(SealUnavailableError, match="revoked"):
        _cache(paths, identity).current()


def test_stale_company_crl_file_names_the_setting(own_keys: tuple[KeyPaths, SigningIdentity],
                                                  tmp_path: Path) -> None:
    paths, identity = own_keys
    assert identity.ca_cert is not None
    source = file_crl_source(paths.crl)
    later = datetime.now(UTC) + CRL_VALIDITY
    with pytest.raises(SealUnavailableError, match=r"ESIGN_CRL_FILE: .* publish a fresh revocation list"):
        source(later)
    (tmp_path / "bad.crl").write_bytes(b"not a crl")
    stamper = LocalTimeStamper(TimeStampAuthority(load_tsa_identity(paths.tsa_p12, PASSPHRASE)))
    cache = ValidationDataCache(identity, stamper, [identity.ca_cert], file_crl_source(tmp_path / "bad.crl"))
    with pytest.raises(SealUnavailableError, match="not a PEM or DER certificate revocation list"):
        cache.current()


def _writer() -> IncrementalPdfFileWriter:
    return IncrementalPdfFileWriter(io.BytesIO(make_pdf()))


def test_seal_without_a_timestamp_authority_is_unavailable(identity: SigningIdentity) -> None:
    with pytest.raises(SealUnavailableError, match="ESIGN_TSA_URL"):
        PdfSealer(identity).seal_writer(_writer(), "esign_seal", reason="r", signer_name="",
                                        signed_at=datetime.now(UTC))


def test_unreachable_tsa_seals_nothing(own_keys: tuple[KeyPaths, SigningIdentity]) -> None:
    paths, identity = own_keys
    assert identity.ca_cert is not None
    stamper = HttpTimeStamper("http://127.0.0.1:9/", timeout=2)  # the discard port: nothing listens

    def long_term() -> LongTerm:
        crls = demo_crl_source(paths.crl.parent, PASSPHRASE)
        return LongTerm(stamper, ValidationDataCache(identity, stamper, [identity.ca_cert], crls))

    with pytest.raises(SealUnavailableError, match="cannot be reached"):
        PdfSealer(identity, long_term).seal_writer(_writer(), "esign_seal", reason="r", signer_name="",
                                                   signed_at=datetime.now(UTC))


def test_a_signature_that_outgrows_its_room_is_measured_again(sealer: PdfSealer) -> None:
    """A TSA whose tokens grow (a renewed, longer chain) must not fail documents: the room is sized again."""
    sealer.seal_writer(_writer(), "esign_seal", reason="r", signer_name="", signed_at=datetime.now(UTC))
    right = sealer._seal_reserved
    assert right is not None
    sealer._seal_reserved = 64  # as if measured for a much smaller token
    with pytest.raises(SealUnavailableError, match="outgrew its reserved room"):
        sealer.seal_writer(_writer(), "esign_seal", reason="r", signer_name="", signed_at=datetime.now(UTC))
    sealer.seal_writer(_writer(), "esign_seal", reason="r", signer_name="", signed_at=datetime.now(UTC))
    assert sealer._seal_reserved == right
