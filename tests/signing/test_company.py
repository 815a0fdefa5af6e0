"""company_sign: the visible company block plus a PAdES signature over the whole file."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Callable

import pytest
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pypdf import PdfReader

from esign.errors import SigningError
from esign.model import SignatureSlot
from esign.signing import COMPANY_FIELD, PdfSealer, company_sign

from .conftest import DOC_ID, SIGNED_AT, SLOTS, HankoResult, make_pdf

KW = {"signer_name": "Maria Souza", "signer_title": "Diretora Executiva", "company_name": "Acme Serviços Ltda",
      "signed_at": SIGNED_AT}


@pytest.fixture(scope="module")
def company_signed(sealer: PdfSealer) -> bytes:
    return company_sign(make_pdf(), SLOTS, sealer, **KW)  # type: ignore[arg-type]


def test_validates_in_pyhanko(company_signed: bytes, hanko_validate: Callable[[bytes], HankoResult]) -> None:
    result = hanko_validate(company_signed)
    assert (result.intact, result.valid, result.trusted) == (True, True, True)
    assert result.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert result.field_name == COMPANY_FIELD and result.count == 1


def test_validates_in_pdfsig(company_signed: bytes, pdfsig: Callable[[bytes], str]) -> None:
    report = pdfsig(company_signed)
    assert "Signature Validation: Signature is Valid." in report
    assert "Total document signed" in report
    assert "Signer Certificate Common Name: Maria Souza" in report


def test_qpdf_check(company_signed: bytes,
                    qpdf_check: Callable[[bytes], subprocess.CompletedProcess[str]]) -> None:
    proc = qpdf_check(company_signed)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No syntax or stream encoding errors" in proc.stdout


def test_block_is_page_content_in_the_slot(company_signed: bytes) -> None:
    reader = PdfReader(io.BytesIO(company_signed))
    text = reader.pages[1].extract_text()
    for expected in ("Maria Souza", "Diretora Executiva", "Acme Serviços Ltda",
                     "Assinado eletronicamente em 28/11/2026 11:03 (UTC-03:00)"):
        assert expected in text
    assert "Maria Souza" not in reader.pages[0].extract_text()
    widget = reader.pages[1]["/Annots"][0].get_object()
    slot = SLOTS[0]
    assert [float(v) for v in widget["/Rect"]] == [slot.x, slot.y, slot.x + slot.width, slot.y + slot.height]
    assert "/AP" not in widget  # the visible block is page content, not a widget appearance


def test_block_uses_the_embedded_project_font(company_signed: bytes) -> None:
    reader = PdfReader(io.BytesIO(company_signed))
    resources = reader.pages[1]["/Resources"]
    stamps = [x.get_object() for x in resources.get("/XObject", {}).values()]  # the block is a Form XObject
    fonts = [f.get_object() for r in [resources, *(x["/Resources"] for x in stamps)]
             for f in r.get("/Font", {}).values()]
    names = {str(f["/BaseFont"]) for f in fonts}
    assert {"/AAAAAA+DejaVuSans", "/AAAAAA+DejaVuSans-Bold"} <= names, names
    for font in fonts:
        if "DejaVuSans" in str(font["/BaseFont"]):
            assert "/FontFile2" in font["/FontDescriptor"]  # embedded, not left to the viewer


def test_keeps_document_id_metadata(company_signed: bytes) -> None:
    assert PdfReader(io.BytesIO(company_signed)).metadata["/EsignDocumentId"] == DOC_ID


def test_long_texts_are_fitted_not_crashing(sealer: PdfSealer, hanko_validate: Callable[[bytes], HankoResult]) -> None:
    tiny = (SignatureSlot("company", 0, 40, 40, 90, 22),)
    signed = company_sign(make_pdf(pages=1), tiny, sealer, signer_name="Maria " * 60, signer_title="T" * 300,
                          company_name="Acme\x00\x07 Serviços " * 30, signed_at=SIGNED_AT)
    assert hanko_validate(signed).intact
    assert "…" in PdfReader(io.BytesIO(signed)).pages[0].extract_text()


def test_missing_company_slot(sealer: PdfSealer) -> None:
    with pytest.raises(SigningError, match="no 'company' signature slot"):
        company_sign(make_pdf(), [SLOTS[1]], sealer, **KW)  # type: ignore[arg-type]


def test_slot_on_missing_page(sealer: PdfSealer) -> None:
    with pytest.raises(SigningError, match="page 7"):
        company_sign(make_pdf(), [SignatureSlot("company", 7, 0, 0, 100, 50)], sealer, **KW)  # type: ignore[arg-type]


def test_empty_slot_rectangle(sealer: PdfSealer) -> None:
    with pytest.raises(SigningError, match="empty rectangle"):
        company_sign(make_pdf(), [SignatureSlot("company", 0, 0, 0, 0, 50)], sealer, **KW)  # type: ignore[arg-type]


def test_unreadable_pdf(sealer: PdfSealer) -> None:
    with pytest.raises(SigningError, match="pdf: not a readable PDF"):
        company_sign(b"%PDF-1.7 nothing here", SLOTS, sealer, **KW)  # type: ignore[arg-type]


def test_empty_signer_name(sealer: PdfSealer) -> None:
    with pytest.raises(SigningError, match="signer_name"):
        company_sign(make_pdf(), SLOTS, sealer, **{**KW, "signer_name": " "})  # type: ignore[arg-type]
