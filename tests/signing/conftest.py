"""Signing fixtures: keys generated once per session, small PDFs drawn here, real validators."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen.canvas import Canvas

from esign.model import SignatureSlot
from esign.signing import KeyPaths, PdfSealer, SigningIdentity, init_keys, load_identity
from esign.signing.ltv import ValidationDataCache, demo_crl_source
from esign.signing.pades import LongTerm
from esign.signing.timestamps import HttpTimeStamper
from esign.signing.tsa import TimeStampAuthority, load_tsa_identity
from esign.signing.tsa_server import TsaServer

PASSPHRASE = b"correct horse battery staple"
DOC_ID = "DOC-2026-000123"
SIGNED_AT = datetime(2026, 11, 28, 14, 3, tzinfo=UTC)

SLOTS = (
    SignatureSlot(role="company", page=1, x=60, y=120, width=220, height=64),
    SignatureSlot(role="client", page=1, x=310, y=120, width=230, height=80),
)


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyPaths:
    return init_keys(tmp_path_factory.mktemp("keys"), PASSPHRASE, "Acme Serviços Ltda", "Maria Souza",
                     "Diretora Executiva")


@pytest.fixture(scope="session")
def identity(keys: KeyPaths) -> SigningIdentity:
    return load_identity(keys.p12, PASSPHRASE, keys.ca_cert)


@pytest.fixture(scope="session")
def tsa(keys: KeyPaths) -> Iterator[TsaServer]:
    """The demo time-stamping authority of these keys, served over HTTP on loopback."""
    with TsaServer(TimeStampAuthority(load_tsa_identity(keys.tsa_p12, PASSPHRASE))) as server:
        yield server


def long_term_for(identity: SigningIdentity, keys: KeyPaths, url: str) -> LongTerm:
    """What a worker's final seals use: the TSA at ``url`` and the demo CA's revocation list."""
    assert identity.ca_cert is not None
    timestamper = HttpTimeStamper(url)
    crls = demo_crl_source(keys.crl.parent, PASSPHRASE)
    return LongTerm(timestamper, ValidationDataCache(identity, timestamper, [identity.ca_cert], crls))


@pytest.fixture(scope="session")
def sealer(identity: SigningIdentity, keys: KeyPaths, tsa: TsaServer) -> PdfSealer:
    return PdfSealer(identity, lambda: long_term_for(identity, keys, tsa.url))


def make_pdf(pages: int = 2, document_id: str = DOC_ID) -> bytes:
    """A small contract-like PDF with /EsignDocumentId in its Info, as the renderer makes it."""
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(595.27, 841.89))
    for n in range(pages):
        c.setFont("Helvetica", 11)
        c.drawString(72, 770, f"Contrato de prestacao de servicos - pagina {n + 1}")
        for i in range(20):
            c.drawString(72, 740 - i * 14, f"Clausula {n * 20 + i + 1}: texto de exemplo do contrato.")
        c.showPage()
    c.save()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(buf.getvalue())))
    writer.add_metadata({"/Title": "Contrato de teste", "/EsignDocumentId": document_id})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def contract_pdf() -> bytes:
    return make_pdf()


@dataclass(frozen=True)
class HankoResult:
    intact: bool
    valid: bool
    trusted: bool
    coverage: SignatureCoverageLevel
    field_name: str
    count: int


@pytest.fixture(scope="session")
def hanko_validate(identity: SigningIdentity) -> Callable[[bytes], HankoResult]:
    """Validate the last signature of a PDF with pyHanko, the company CA as the only trust root."""
    assert identity.ca_cert is not None
    root = translate_pyca_cryptography_cert_to_asn1(identity.ca_cert)

    def run(pdf: bytes) -> HankoResult:
        reader = PdfFileReader(io.BytesIO(pdf))
        sigs = reader.embedded_signatures
        status = validate_pdf_signature(sigs[-1], ValidationContext(trust_roots=[root]))
        return HankoResult(status.intact, status.valid, status.trusted, status.coverage,
                           sigs[-1].field_name, len(sigs))

    return run


@pytest.fixture
def pdfsig(tmp_path: Path) -> Callable[[bytes], str]:
    """poppler's verdict on a PDF (stdout of ``pdfsig``)."""

    def run(pdf: bytes) -> str:
        path = tmp_path / "check.pdf"
        path.write_bytes(pdf)
        proc = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60)
        return proc.stdout + proc.stderr

    return run


@pytest.fixture
def qpdf_check(tmp_path: Path) -> Callable[[bytes], subprocess.CompletedProcess[str]]:
    def run(pdf: bytes) -> subprocess.CompletedProcess[str]:
        path = tmp_path / "qpdf.pdf"
        path.write_bytes(pdf)
        return subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True, timeout=60)

    return run


def make_own_p12(tmp_path: Path, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
    """A PKCS#12 as a company would bring it: root CA -> intermediate -> signer, root given separately."""
    now = datetime.now(UTC)

    def cert(subject: str, issuer: str, pub: object, signer: object, ca: bool) -> x509.Certificate:
        return (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                .public_key(pub).serial_number(x509.random_serial_number())  # type: ignore[arg-type]
                .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365))
                .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=not ca, content_commitment=not ca,
                                             key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                                             encipher_only=False, decipher_only=False), critical=True)
                .sign(signer, hashes.SHA256()))  # type: ignore[arg-type]

    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    mid_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = cert("Own Root", "Own Root", root_key.public_key(), root_key, True)
    mid = cert("Own Intermediate", "Own Root", mid_key.public_key(), root_key, True)
    leaf = cert("Own Signer", "Own Intermediate", key.public_key(), mid_key, False)
    p12 = pkcs12.serialize_key_and_certificates(b"own", key, leaf, [mid],
                                                serialization.BestAvailableEncryption(b"own-pass"))
    (tmp_path / "own.p12").write_bytes(p12)
    (tmp_path / "root.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))
    return tmp_path / "own.p12", tmp_path / "root.pem"
