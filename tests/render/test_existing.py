"""Existing PDFs (kind: pdf): decorations on every page, configured or appended signature blocks, bad files."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import RectangleObject

from esign.errors import RenderError, ValidationError
from esign.model import Deal, Party
from esign.render import RenderedDocument, TemplateLibrary, render_document
from tests.render.helpers import ISSUED_AT, pdf_text, poppler_text, qpdf_check, simple_pdf

MakeDeal = Callable[..., Deal]
ATTACHMENT_TEMPLATE = "id: anexo\ntitle: \"Anexo {{ deal.id }}\"\nkind: pdf\nsource: deal_attachment\n"


def render(library: TemplateLibrary, template_id: str, company: Party, deal: Deal,
           document_id: str = "DOC-NDA-7") -> RenderedDocument:
    return render_document(library.get(template_id), company, deal, document_id, ISSUED_AT)


@pytest.fixture
def attachment_library(tmp_path: Path) -> TemplateLibrary:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "anexo.yaml").write_text(ATTACHMENT_TEMPLATE, encoding="utf-8")
    return TemplateLibrary(folder)


def file_template(tmp_path: Path, pdf: bytes, slots: str) -> TemplateLibrary:
    folder = tmp_path / "file-templates"
    folder.mkdir(exist_ok=True)
    (folder / "doc.pdf").write_bytes(pdf)
    (folder / "doc.yaml").write_text(f"id: doc\ntitle: Doc\nkind: pdf\nsource: doc.pdf\nslots:\n{slots}",
                                     encoding="utf-8")
    return TemplateLibrary(folder)


BOTTOM_SLOTS = ("  - {role: company, page: -1, x: 85, y: 80, width: 200, height: 68}\n"
                "  - {role: client, page: -1, x: 320, y: 80, width: 200, height: 68}\n")


def test_shipped_nda_gets_stripe_page_number_and_configured_slots(library: TemplateLibrary, company: Party,
                                                                  make_deal: MakeDeal, tmp_path: Path) -> None:
    doc = render(library, "acordo_confidencialidade", company, make_deal())
    assert doc.page_count == 1
    assert [slot.role for slot in doc.slots] == ["company", "client"]
    assert (doc.slot("company").page, doc.slot("company").x, doc.slot("company").y) == (0, 85.0, 80.0)
    text = poppler_text(doc.pdf, tmp_path)
    assert "ACORDO DE CONFIDENCIALIDADE" in text and "Comarca de São Paulo" in text  # original content kept
    assert "Página 1 de 1" in text and "Documento DOC-NDA-7 · esign-pipeline" in text
    for slot in doc.slots:
        assert poppler_text(doc.pdf, tmp_path, page=0, box=(slot.x + 2, slot.y + 2, slot.width - 4,
                                                            slot.height - 4)).strip() == ""
    under = poppler_text(doc.pdf, tmp_path, page=0, box=(320, 40, 200, 40))
    assert "CONTRATANTE" in under and "Ünïcödé Comércio e Serviços S.A." in under
    assert qpdf_check(doc.pdf, tmp_path).returncode == 0


def test_existing_pdf_metadata_and_determinism(library: TemplateLibrary, company: Party,
                                               make_deal: MakeDeal) -> None:
    first = render(library, "acordo_confidencialidade", company, make_deal())
    second = render(library, "acordo_confidencialidade", company, make_deal())
    assert hashlib.sha256(first.pdf).digest() == hashlib.sha256(second.pdf).digest()
    reader = PdfReader(io.BytesIO(first.pdf))
    assert reader.metadata is not None
    assert reader.metadata["/EsignDocumentId"] == "DOC-NDA-7"
    assert reader.metadata["/Title"] == "Acordo de Confidencialidade — Ünïcödé Comércio e Serviços S.A. (DOC-NDA-7)"
    assert reader.metadata["/CreationDate"] == "D:20261128140300+00'00'"
    expected = hashlib.sha256(b"esign-pipeline:DOC-NDA-7").digest()[:16]
    assert bytes(reader.trailer["/ID"][0].original_bytes) == expected


def test_deal_attachment_without_slots_gets_a_signature_page(attachment_library: TemplateLibrary,
                                                             company: Party, make_deal: MakeDeal,
                                                             tmp_path: Path) -> None:
    deal = make_deal(attachment_pdf=simple_pdf(pages=2))
    doc = render(attachment_library, "anexo", company, deal)
    assert doc.page_count == 3
    assert {slot.page for slot in doc.slots} == {2}
    for page in range(3):
        text = poppler_text(doc.pdf, tmp_path, page=page)
        assert f"Página {page + 1} de 3" in text and "Documento DOC-NDA-7" in text
    assert "Documento externo - folha 2" in poppler_text(doc.pdf, tmp_path, page=1)
    signature_page = poppler_text(doc.pdf, tmp_path, page=2)
    assert "Acme Serviços Digitais Ltda" in signature_page and "Ünïcödé Comércio" in signature_page
    assert "Página 1 de 1" not in pdf_text(doc.pdf)  # the appended page is numbered within the whole file
    for slot in doc.slots:
        assert poppler_text(doc.pdf, tmp_path, page=2, box=(slot.x + 2, slot.y + 2, slot.width - 4,
                                                            slot.height - 4)).strip() == ""
    assert qpdf_check(doc.pdf, tmp_path).returncode == 0


@pytest.mark.parametrize("attachment", [None, b""])
def test_missing_attachment_is_a_validation_error(attachment_library: TemplateLibrary, company: Party,
                                                  make_deal: MakeDeal, attachment: bytes | None) -> None:
    with pytest.raises(ValidationError) as info:
        render(attachment_library, "anexo", company, make_deal(attachment_pdf=attachment))
    assert info.value.field == "attachment_pdf"
    assert "anexo" in info.value.reason


def encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(simple_pdf(1))))
    writer.encrypt("segredo", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def empty_pdf() -> bytes:
    out = io.BytesIO()
    PdfWriter().write(out)
    return out.getvalue()


@pytest.mark.parametrize(("payload", "reason"), [
    (b"PK\x03\x04 this is a zip file", "not a PDF"),
    ("%PDF-1.4 text, not bytes", "empty or not bytes"),
    (b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\n" + b"\x00" * 64, "corrupt PDF"),
    (simple_pdf(2)[:400], "corrupt PDF"),
])
def test_bad_attachments_are_render_errors(attachment_library: TemplateLibrary, company: Party,
                                           make_deal: MakeDeal, payload: object, reason: str) -> None:
    with pytest.raises(RenderError, match=f"attachment_pdf: {reason}"):
        render(attachment_library, "anexo", company, make_deal(attachment_pdf=payload))


def test_encrypted_attachment_is_refused(attachment_library: TemplateLibrary, company: Party,
                                         make_deal: MakeDeal) -> None:
    with pytest.raises(RenderError, match="attachment_pdf: encrypted PDF"):
        render(attachment_library, "anexo", company, make_deal(attachment_pdf=encrypted_pdf()))


def test_pdf_without_pages_is_refused(attachment_library: TemplateLibrary, company: Party,
                                      make_deal: MakeDeal) -> None:
    with pytest.raises(RenderError, match="attachment_pdf: the PDF has no pages"):
        render(attachment_library, "anexo", company, make_deal(attachment_pdf=empty_pdf()))


def test_corrupt_template_source_names_the_template(tmp_path: Path, company: Party, make_deal: MakeDeal) -> None:
    library = file_template(tmp_path, b"not a pdf at all", BOTTOM_SLOTS)
    with pytest.raises(RenderError, match=r"template 'doc' source 'doc\.pdf': not a PDF"):
        render(library, "doc", company, make_deal())


def test_slot_on_missing_page_or_off_the_page(tmp_path: Path, company: Party, make_deal: MakeDeal) -> None:
    library = file_template(tmp_path, simple_pdf(2), BOTTOM_SLOTS.replace("page: -1, x: 320", "page: 5, x: 320"))
    with pytest.raises(RenderError, match="slot 'client' is on page 5, but the PDF has 2 page"):
        render(library, "doc", company, make_deal())
    library = file_template(tmp_path, simple_pdf(2), BOTTOM_SLOTS.replace("x: 320", "x: 500"))
    with pytest.raises(RenderError, match=r"slot 'client' .* does not fit page 2"):
        render(library, "doc", company, make_deal())


def test_configured_slot_on_first_page(tmp_path: Path, company: Party, make_deal: MakeDeal) -> None:
    library = file_template(tmp_path, simple_pdf(3), BOTTOM_SLOTS.replace("page: -1, x: 85", "page: 0, x: 85"))
    doc = render(library, "doc", company, make_deal())
    assert (doc.page_count, doc.slot("company").page, doc.slot("client").page) == (3, 0, 2)


def rotated_and_shifted_pdf() -> bytes:
    reader = PdfReader(io.BytesIO(simple_pdf(2)))
    writer = PdfWriter()
    first = writer.add_page(reader.pages[0])
    first.rotate(90)
    second = writer.add_page(reader.pages[1])
    second.mediabox = RectangleObject([100, 50, 695, 892])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_rotated_and_shifted_pages(tmp_path: Path, company: Party, make_deal: MakeDeal) -> None:
    library = file_template(tmp_path, rotated_and_shifted_pdf(), BOTTOM_SLOTS)
    doc = render(library, "doc", company, make_deal())
    reader = PdfReader(io.BytesIO(doc.pdf))
    assert reader.pages[0].rotation == 0  # rotation moved into the content, so our marks stay upright
    # pypdf moves a shifted MediaBox to the origin with the content, so slots stay relative to the visible page.
    assert (float(reader.pages[1].mediabox.left), float(reader.pages[1].mediabox.bottom)) == (0.0, 0.0)
    assert (doc.slot("company").page, doc.slot("company").x, doc.slot("company").y) == (1, 85.0, 80.0)
    for page in range(2):
        assert f"Página {page + 1} de 2" in poppler_text(doc.pdf, tmp_path, page=page)
    assert qpdf_check(doc.pdf, tmp_path).returncode == 0
