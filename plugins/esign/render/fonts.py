"""The project's embedded font (DejaVu Sans), registered with reportlab once per process.

Why a shipped TTF: the PDF base-14 fonts only cover Latin-1 and are not embedded, so Portuguese
accents would depend on the viewer and anything beyond Latin-1 would be lost. DejaVu covers Latin,
Greek, Cyrillic, Hebrew, Arabic and more; glyphs it lacks (emoji) render as an empty box, never crash.
"""

from __future__ import annotations

import threading
import unicodedata
from pathlib import Path

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from esign.errors import RenderError

FONT_DIR = Path(__file__).resolve().parent / "fonts"
REGULAR = "EsignSans"
BOLD = "EsignSans-Bold"
_FILES = {REGULAR: "DejaVuSans.ttf", BOLD: "DejaVuSans-Bold.ttf"}

_lock = threading.Lock()
_registered = False


def register_fonts() -> tuple[str, str]:
    """Register the regular and bold faces (idempotent, thread-safe) and return their names.

    Parsing a TTF costs tens of milliseconds, so it happens on the first call only.
    """
    global _registered
    if _registered:
        return REGULAR, BOLD
    with _lock:
        if not _registered:
            for name, filename in _FILES.items():
                path = FONT_DIR / filename
                try:
                    pdfmetrics.registerFont(TTFont(name, str(path)))
                except Exception as exc:  # reportlab raises bare TTFError/IOError variants
                    raise RenderError(f"font {filename}: cannot be loaded ({exc})") from exc
            # Lets <b> inside paragraph markup pick the bold face.
            addMapping(REGULAR, 0, 0, REGULAR)
            addMapping(REGULAR, 1, 0, BOLD)
            addMapping(REGULAR, 0, 1, REGULAR)
            addMapping(REGULAR, 1, 1, BOLD)
            _registered = True
    return REGULAR, BOLD


MISSING_GLYPH = "\u25a1"  # WHITE SQUARE: the visible "box" for a character the font cannot draw
_covered: frozenset[int] | None = None


def font_safe(text: str) -> str:
    """Replace characters neither face can draw with a box, and drop invisible format characters it lacks.

    reportlab would draw .notdef for them anyway, but it also writes a broken ToUnicode entry for some;
    an explicit box keeps the PDF clean and says honestly what happened.
    """
    global _covered
    if _covered is None:
        faces = [pdfmetrics.getFont(name).face for name in register_fonts()]
        _covered = frozenset(faces[0].charToGlyph).intersection(*(face.charToGlyph for face in faces[1:]))
    covered = _covered
    if all(ord(ch) in covered or ch in "\n\t" for ch in text):
        return text
    out = []
    for ch in text:
        if ord(ch) in covered or ch in "\n\t":
            out.append(ch)
        elif unicodedata.category(ch) not in ("Cf", "Mn", "Me"):
            out.append(MISSING_GLYPH)
    return "".join(out)
