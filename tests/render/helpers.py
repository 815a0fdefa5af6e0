"""PDF inspection helpers for the renderer's tests (pypdf, poppler's pdftotext, qpdf)."""

from __future__ import annotations

import io
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
ISSUED_AT = datetime(2026, 11, 28, 14, 3, tzinfo=UTC)


def pdf_text(pdf: bytes) -> str:
    """All text of a PDF as pypdf extracts it."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def poppler_text(pdf: bytes, tmp_path: Path, *, page: int | None = None,
                 box: tuple[float, float, float, float] | None = None) -> str:
    """Text as poppler's pdftotext sees it; ``page`` is 0-based, ``box`` (x, y, w, h) in PDF points."""
    source = tmp_path / "in.pdf"
    source.write_bytes(pdf)
    args = ["pdftotext", "-q", "-enc", "UTF-8"]
    if page is not None:
        args += ["-f", str(page + 1), "-l", str(page + 1)]
    if box is not None:
        height = float(PdfReader(io.BytesIO(pdf)).pages[page or 0].mediabox.height)
        x, y, w, h = box
        # pdftotext crops in pixels at 72 dpi from the top-left corner.
        args += ["-x", str(int(x)), "-y", str(int(height - y - h)), "-W", str(int(w)), "-H", str(int(h))]
    result = subprocess.run([*args, str(source), "-"], capture_output=True, check=True)
    return result.stdout.decode()


def qpdf_check(pdf: bytes, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "check.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)


def simple_pdf(pages: int = 2, size: tuple[float, float] = A4, text: str = "Documento externo") -> bytes:
    """A small PDF "made elsewhere", for the existing-PDF path."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=size, invariant=1)
    for number in range(1, pages + 1):
        canvas.setFont("Helvetica", 12)
        canvas.drawString(72, size[1] - 72, f"{text} - folha {number}")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
