"""PdfSealer: one-pass PAdES-B signatures that outside validators accept."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from esign.errors import SigningError
from esign.signing import PdfSealer, SigningIdentity, init_keys, load_identity

from .conftest import SIGNED_AT, HankoResult, make_own_p12, make_pdf


def _sign(sealer: PdfSealer, pdf: bytes, **kw: object) -> bytes:
    args: dict[str, object] = {"reason": "Teste", "location": "São Paulo", "signer_name": "Maria Souza",
                               "signed_at": SIGNED_AT}
    args.update(kw)
    return sealer.sign(pdf, "sig1", **args)  # type: ignore[arg-type]


def test_invisible_signature_validates_everywhere(sealer: PdfSealer, hanko_validate: Callable[[bytes], HankoResult],
                                                  pdfsig: Callable[[bytes], str]) -> None:
    pdf = make_pdf()
    signed = _sign(sealer, pdf)
    assert signed.startswith(pdf)  # incremental update: the original bytes are untouched
    result = hanko_validate(signed)
    assert (result.intact, result.valid, result.trusted) == (True, True, True)
    assert result.coverage == SignatureCoverageLevel.ENTIRE_FILE
    report = pdfsig(signed)
    assert "Signature Validation: Signature is Valid." in report
    assert "Total document signed" in report
    assert "ETSI.CAdES.detached" in report


def test_signature_dictionary(sealer: PdfSealer) -> None:
    signed = _sign(sealer, make_pdf())
    sig = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    obj = sig.sig_object
    assert obj["/SubFilter"] == "/ETSI.CAdES.detached"
    assert obj["/Reason"] == "Teste" and obj["/Location"] == "São Paulo" and obj["/Name"] == "Maria Souza"
    assert str(obj["/M"]).startswith("D:20261128140300")
    assert obj["/ByteRange"][0] == 0


def test_box_places_the_widget(sealer: PdfSealer) -> None:
    signed = _sign(sealer, make_pdf(), box=(1, 60.0, 120.0, 280.0, 184.0))
    page = PdfReader(io.BytesIO(signed)).pages[1]
    widgets = [a.get_object() for a in page["/Annots"]]
    assert [[float(v) for v in w["/Rect"]] for w in widgets] == [[60, 120, 280, 184]]
    assert widgets[0]["/FT"] == "/Sig"


def test_size_reserved_once_and_fits(sealer: PdfSealer) -> None:
    reserved = sealer.bytes_reserved
    signed = _sign(sealer, make_pdf())
    contents = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0].sig_object.raw_get("/Contents")
    assert sealer.bytes_reserved == reserved
    assert len(bytes(contents)) * 2 == reserved  # the hole is exactly the reserved size


def test_key_is_not_reloaded_per_signature(sealer: PdfSealer, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("private key parsed again while signing")

    monkeypatch.setattr(serialization, "load_der_private_key", refuse)
    monkeypatch.setattr(serialization, "load_pem_private_key", refuse)
    assert _sign(sealer, make_pdf()).count(b"/ETSI.CAdES.detached") == 1


def test_tampering_breaks_the_signature(sealer: PdfSealer, hanko_validate: Callable[[bytes], HankoResult]) -> None:
    signed = bytearray(_sign(sealer, make_pdf()))
    at = signed.index(b"Contrato de teste")
    signed[at] = ord("K")  # same length, so only the digest can notice
    assert hanko_validate(bytes(signed)).intact is False


def test_untrusted_root_is_reported_untrusted(sealer: PdfSealer, tmp_path_factory: pytest.TempPathFactory) -> None:
    other = load_identity(init_keys(tmp_path_factory.mktemp("other"), b"pw", "Other", "X", "Y").p12, b"pw")
    assert other.ca_cert is not None
    signed = _sign(sealer, make_pdf())
    sig = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    ctx = ValidationContext(trust_roots=[translate_pyca_cryptography_cert_to_asn1(other.ca_cert)])
    status = validate_pdf_signature(sig, ctx)
    assert status.intact and not status.trusted


def test_naive_signing_time_is_utc(sealer: PdfSealer) -> None:
    signed = _sign(sealer, make_pdf(), signed_at=datetime(2026, 11, 28, 14, 3))
    sig = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    assert str(sig.sig_object["/M"]).startswith("D:20261128140300")


def test_identity_without_known_root_still_signs(identity: SigningIdentity,
                                                 pdfsig: Callable[[bytes], str]) -> None:
    bare = SigningIdentity(cert=identity.cert, key=identity.key, chain=(), ca_cert=None, source=identity.source)
    signed = PdfSealer(bare).sign(make_pdf(), "s", reason="r", location="", signer_name="", signed_at=SIGNED_AT)
    assert "Signature Validation: Signature is Valid." in pdfsig(signed)


@pytest.mark.parametrize("data", [b"", b"not a pdf at all", b"%PDF-1.4\n%garbage without xref\n"])
def test_unreadable_pdf(sealer: PdfSealer, data: bytes) -> None:
    with pytest.raises(SigningError, match="pdf: not a readable PDF"):
        _sign(sealer, data)


def test_empty_field_name(sealer: PdfSealer) -> None:
    with pytest.raises(SigningError, match="field_name"):
        sealer.sign(make_pdf(), " ", reason="", location="", signer_name="", signed_at=SIGNED_AT)


def test_box_on_missing_page(sealer: PdfSealer) -> None:
    with pytest.raises(SigningError, match="page 5 does not exist"):
        _sign(sealer, make_pdf(), box=(5, 0.0, 0.0, 10.0, 10.0))


def test_field_already_signed(sealer: PdfSealer) -> None:
    once = _sign(sealer, make_pdf())
    with pytest.raises(SigningError, match="sig1"):
        _sign(sealer, once)


def test_second_signature_keeps_the_first_valid(sealer: PdfSealer, identity: SigningIdentity) -> None:
    once = _sign(sealer, make_pdf())
    twice = sealer.sign(once, "sig2", reason="", location="", signer_name="", signed_at=SIGNED_AT)
    sigs = PdfFileReader(io.BytesIO(twice)).embedded_signatures
    assert [s.field_name for s in sigs] == ["sig1", "sig2"]
    assert identity.ca_cert is not None
    root = translate_pyca_cryptography_cert_to_asn1(identity.ca_cert)
    first = validate_pdf_signature(sigs[0], ValidationContext(trust_roots=[root]))
    assert first.intact and first.coverage == SignatureCoverageLevel.ENTIRE_REVISION


@pytest.mark.parametrize("kind", ["rsa", "ecdsa"])
def test_company_own_pkcs12_signs_and_validates(tmp_path: Path, kind: str, pdfsig: Callable[[bytes], str]) -> None:
    key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if kind == "rsa"
           else ec.generate_private_key(ec.SECP256R1()))
    p12, root_pem = make_own_p12(tmp_path, key)
    own = load_identity(p12, b"own-pass", root_pem)
    assert own.ca_cert is not None
    signed = PdfSealer(own).sign(make_pdf(), "own", reason="r", location="", signer_name="", signed_at=SIGNED_AT)
    sig = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    root = translate_pyca_cryptography_cert_to_asn1(own.ca_cert)
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=[root]))  # via the intermediate
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    report = pdfsig(signed)
    assert "Signature Validation: Signature is Valid." in report and "Total document signed" in report
