"""Templates of ``kind: pdf``: an existing PDF gets the ID stripe, page numbers and signature blocks.

Why an overlay instead of re-rendering: the document was made elsewhere (a lawyer's NDA, the deal's
attachment) and its pages must stay exactly as they are; we only add our marks on top and, when the
template configures no positions, a signature page of our own at the end. A template that places some blocks
(``slots:``) but not every one a document needs (a witness, a second client signer) gets the missing ones on an
appended signature page, laid out as a contract's: the document is signed by everyone rather than quarantined.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, ByteStringObject
from reportlab.pdfgen.canvas import Canvas

from esign.errors import RenderError, ValidationError
from esign.i18n import translator
from esign.model import SignatureSlot
from esign.render.contract import PAGE_SIZES, render_blocks
from esign.render.decorations import PRODUCER, draw_decorations, file_id, pdf_date
from esign.render.flowables import draw_signature_block
from esign.render.fonts import register_fonts
from esign.render.signature_blocks import expected_slots, slot_captions
from esign.render.templates import DEAL_ATTACHMENT, DocumentTemplate, SlotSpec

_LABELS = {"pt_BR": ("CONTRATADA", "CONTRATANTE"), "en_US": ("PROVIDER", "CLIENT")}


def open_pdf(data: object, what: str) -> PdfReader:
    """A readable, unencrypted PDF with pages, or RenderError saying why not."""
    if not isinstance(data, bytes | bytearray) or not data:
        raise RenderError(f"{what}: empty or not bytes")
    if b"%PDF-" not in bytes(data[:1024]):
        raise RenderError(f"{what}: not a PDF (no %PDF- header)")
    try:
        reader = PdfReader(io.BytesIO(bytes(data)), strict=False)
        if reader.is_encrypted:
            raise RenderError(f"{what}: encrypted PDF (remove the password before using it)")
        pages = len(reader.pages)
        for page in reader.pages:
            _ = page.cropbox
    except RenderError:
        raise
    except Exception as exc:  # pypdf raises many kinds for damaged files
        raise RenderError(f"{what}: corrupt PDF ({type(exc).__name__}: {str(exc)[:200]})") from exc
    if pages == 0:
        raise RenderError(f"{what}: the PDF has no pages")
    return reader


def _source_bytes(template: DocumentTemplate, attachment: bytes | None) -> tuple[bytes, str]:
    if template.source == DEAL_ATTACHMENT:
        if not attachment:
            raise ValidationError("attachment_pdf", f"missing: template {template.id!r} uses the deal's "
                                                    "attached PDF")
        return attachment, "attachment_pdf"
    assert template.source_pdf is not None
    return template.source_pdf, f"template {template.id!r} source {template.source!r}"


def _resolve_slot(template: DocumentTemplate, spec: SlotSpec, boxes: list[tuple[float, float, float, float]]
                  ) -> tuple[int, SignatureSlot]:
    count = len(boxes)
    index = spec.page if spec.page >= 0 else count + spec.page
    if not 0 <= index < count:
        raise RenderError(f"template {template.id!r}: slot {spec.role!r} is on page {spec.page}, but the PDF "
                          f"has {count} page(s)")
    x0, y0, width, height = boxes[index]
    if spec.x + spec.width > width or spec.y + spec.height > height:
        raise RenderError(f"template {template.id!r}: slot {spec.role!r} ({spec.x}, {spec.y}, {spec.width} x "
                          f"{spec.height}) does not fit page {index + 1} ({width:.0f} x {height:.0f} pt)")
    return index, SignatureSlot(role=spec.role, page=index, x=x0 + spec.x, y=y0 + spec.y, width=spec.width,
                                height=spec.height)


def render_existing(template: DocumentTemplate, context: dict[str, Any], *, attachment: bytes | None,
                    title: str, document_id: str, issued_at: datetime) -> tuple[bytes, int,
                                                                                tuple[SignatureSlot, ...]]:
    """Decorate an existing PDF and place (or append) the signature blocks."""
    data, what = _source_bytes(template, attachment)
    reader = open_pdf(data, what)
    writer = PdfWriter()
    try:
        for page in reader.pages:
            added = writer.add_page(page)
            added.transfer_rotation_to_content()
    except Exception as exc:
        raise RenderError(f"{what}: corrupt PDF ({type(exc).__name__}: {str(exc)[:200]})") from exc
    source_pages = len(writer.pages)
    slots: list[SignatureSlot] = []
    needed = expected_slots(context)
    placed = [spec for spec in template.slots if spec.role in needed]  # a witness's place stays empty without one
    missing = needed - {spec.role for spec in placed}
    if missing:
        pdf, _, page_slots = render_blocks(template, template.signature_page, context, title=title,
                                           document_id=document_id, issued_at=issued_at,
                                           page_size=PAGE_SIZES[template.page_size], decorate=False,
                                           slots=None if not template.slots else missing)
        for page in PdfReader(io.BytesIO(pdf)).pages:
            writer.add_page(page)
        slots = [SignatureSlot(role=s.role, page=s.page + source_pages, x=s.x, y=s.y, width=s.width,
                               height=s.height) for s in page_slots]
    boxes = [(float(p.cropbox.left), float(p.cropbox.bottom), float(p.cropbox.width), float(p.cropbox.height))
             for p in writer.pages]
    drawn: dict[int, list[SignatureSlot]] = {}
    for spec in placed:
        index, slot = _resolve_slot(template, spec, boxes[:source_pages])
        slots.append(slot)
        drawn.setdefault(index, []).append(slot)
    overlay = _overlay(template, context, boxes, drawn, document_id)
    try:
        for page, over in zip(writer.pages, PdfReader(io.BytesIO(overlay)).pages, strict=True):
            page.merge_page(over)
    except Exception as exc:  # damaged page content streams surface only here
        raise RenderError(f"{what}: corrupt PDF ({type(exc).__name__}: {str(exc)[:200]})") from exc
    writer.metadata = {"/Title": title, "/EsignDocumentId": document_id, "/Producer": PRODUCER,
                       "/Creator": PRODUCER, "/CreationDate": pdf_date(issued_at), "/ModDate": pdf_date(issued_at)}
    fid = ByteStringObject(file_id(document_id))
    writer._ID = ArrayObject([fid, fid])  # pypdf has no public setter; a fixed ID keeps output reproducible
    out = io.BytesIO()
    writer.write(out)
    ordered = tuple(sorted(slots, key=lambda slot: slot.role != "company"))
    return out.getvalue(), len(boxes), ordered


def _overlay(template: DocumentTemplate, context: dict[str, Any], boxes: list[tuple[float, float, float, float]],
             drawn: dict[int, list[SignatureSlot]], document_id: str) -> bytes:
    """One overlay page per page: decorations and the configured signature blocks, in page coordinates."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, invariant=1, pageCompression=1, initialFontName=register_fonts()[0])
    labels = _LABELS[template.locale]
    t = translator(template.locale)
    total = len(boxes)
    for index, (x0, y0, width, height) in enumerate(boxes):
        # The overlay page spans the page's user space up to the visible box, so absolute coordinates work.
        canvas.setPageSize((max(width, x0 + width), max(height, y0 + height)))
        draw_decorations(canvas, width=width, height=height, page_no=index + 1, total=total,
                         document_id=document_id, locale=template.locale, origin=(x0, y0))
        for slot in drawn.get(index, []):
            captions, prefix = slot_captions(slot.role, context, labels, t)
            draw_signature_block(canvas, x=slot.x, y=slot.y, width=slot.width, height=slot.height,
                                 captions=captions, prefix=prefix)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
