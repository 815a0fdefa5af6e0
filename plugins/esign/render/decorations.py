"""What every page carries: the document-ID stripe, "Página n de N", and deterministic PDF metadata.

Why: a printed page on its own must still say which document it belongs to (Bitrix24 prints the ID
in a thin band along the edge), and the same inputs must give the same bytes so hashes recorded in
the ledger can be recomputed.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from reportlab.lib.colors import Color
from reportlab.pdfbase import pdfdoc
from reportlab.pdfgen.canvas import Canvas

from esign.errors import RenderError
from esign.render.fonts import register_fonts

STRIPE_WIDTH = 11.0
STRIPE_X = 12.0  # distance of the band from the left page edge
STRIPE_FILL = Color(0.93, 0.94, 0.96)
STRIPE_TEXT = Color(0.35, 0.38, 0.45)
PRODUCER = "esign-pipeline"

LABELS = {
    "pt_BR": {"page": "Página {n} de {total}", "stripe": "Documento {id} · esign-pipeline"},
    "en_US": {"page": "Page {n} of {total}", "stripe": "Document {id} · esign-pipeline"},
}


def draw_decorations(canvas: Canvas, *, width: float, height: float, page_no: int, total: int,
                     document_id: str, locale: str, origin: tuple[float, float] = (0.0, 0.0)) -> None:
    """Draw the left ID band and the bottom page number on the current page.

    ``origin`` is the lower-left corner of the visible page (existing PDFs may have a shifted MediaBox).
    """
    regular, _ = register_fonts()
    labels = LABELS.get(locale, LABELS["pt_BR"])
    ox, oy = origin
    canvas.saveState()
    margin = min(36.0, height * 0.05)
    canvas.setFillColor(STRIPE_FILL)
    canvas.rect(ox + STRIPE_X, oy + margin, STRIPE_WIDTH, height - 2 * margin, stroke=0, fill=1)
    canvas.setFillColor(STRIPE_TEXT)
    canvas.setFont(regular, 6.5)
    canvas.translate(ox + STRIPE_X + STRIPE_WIDTH / 2 + 2.3, oy + height / 2)
    canvas.rotate(90)
    stripe = labels["stripe"].format(id=document_id)
    canvas.drawCentredString(0, 0, stripe)
    canvas.restoreState()
    canvas.saveState()
    canvas.setFont(regular, 8)
    canvas.setFillColor(STRIPE_TEXT)
    canvas.drawCentredString(ox + width / 2, oy + 16, labels["page"].format(n=page_no, total=total))
    canvas.restoreState()


def pdf_date(moment: datetime) -> str:
    """A PDF date string in UTC: D:20261128140300+00'00'."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return utc.strftime("D:%Y%m%d%H%M%S+00'00'")


def file_id(document_id: str) -> bytes:
    """The 16-byte PDF file identifier, derived from the document ID (same document, same /ID)."""
    return hashlib.sha256(f"esign-pipeline:{document_id}".encode()).digest()[:16]


class _InfoWithId(pdfdoc.PDFInfo):  # type: ignore[misc]  # reportlab ships no type hints
    """reportlab's Info dictionary plus /EsignDocumentId (reportlab has no API for custom keys)."""

    document_id = ""

    def format(self, document: Any) -> bytes:
        base = bytes(super().format(document))
        extra = bytes(pdfdoc.PDFDictionary({"EsignDocumentId": pdfdoc.PDFString(self.document_id)})
                      .format(document)).strip()
        # Both are "<< ... >>" dictionaries: splice the extra key in before the closing brackets.
        head = base.rstrip()
        if not (head.endswith(b">>") and extra.startswith(b"<<") and extra.endswith(b">>")):
            raise RenderError("unexpected Info dictionary layout from reportlab")
        return head[:-2] + extra[2:-2].strip() + b"\n>>"


def apply_metadata(canvas: Canvas, *, title: str, document_id: str, issued_at: datetime) -> None:
    """Info dictionary (title, producer, fixed dates, /EsignDocumentId) and a fixed /ID on a reportlab canvas.

    Uses reportlab internals (``_doc.info``, ``_doc._ID``) because its public API offers neither custom
    Info keys nor a chosen file identifier; tests check the result through pypdf.
    """
    doc = canvas._doc
    info = _InfoWithId()
    info.document_id = document_id
    doc.info = info
    canvas.setTitle(title)
    canvas.setAuthor(PRODUCER)
    canvas.setCreator(PRODUCER)
    canvas.setProducer(PRODUCER)
    canvas.setSubject(f"Documento {document_id}")
    stamp = pdf_date(issued_at)
    canvas.setDateFormatter(lambda *_args: stamp)
    hexid = file_id(document_id).hex().upper().encode()
    doc._ID = b"[<" + hexid + b"><" + hexid + b">]"
