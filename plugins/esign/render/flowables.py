"""The signature block: an empty box over a line with the party's name and title, that reports where it landed.

Why record the position while drawing: only the layout engine knows on which page and where the block
ends up; the signing module later stamps into exactly that rectangle.
"""

from __future__ import annotations

from reportlab.lib.colors import Color
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

from esign.model import SignatureSlot
from esign.render.fonts import register_fonts

BOX_HEIGHT = 68.0
CAPTION_LINE = 10.5
BOX_BORDER = Color(0.78, 0.8, 0.84)
CAPTION_COLOR = Color(0.2, 0.2, 0.2)
MAX_CAPTION_LINES = 2
PREFIX_GUTTER = 14.0  # room left of a numbered (witness) block for its number


class SlotRecorder:
    """Collects the slots of one document as its signature blocks are drawn."""

    def __init__(self) -> None:
        self.slots: list[SignatureSlot] = []

    def add(self, slot: SignatureSlot) -> None:
        self.slots.append(slot)


def caption_lines(text: str, font: str, size: float, width: float) -> list[str]:
    """Wrap a caption to the block width, at most two lines (the rest is cut with an ellipsis)."""
    lines: list[str] = simpleSplit(" ".join(text.split()), font, size, width) if text.strip() else []
    if len(lines) > MAX_CAPTION_LINES:
        lines = lines[:MAX_CAPTION_LINES]
        lines[-1] = lines[-1][: max(1, len(lines[-1]) - 2)] + "…"
    return lines


def draw_signature_block(canvas: Canvas, *, x: float, y: float, width: float, height: float,
                         captions: list[tuple[str, bool]], prefix: str = "") -> None:
    """Draw the empty box (x, y, width, height) and the captions under its bottom line.

    ``captions`` are (text, bold) pairs: label, name, title. Text is drawn literally (no markup). ``prefix`` (a
    witness's "1.") is printed just left of the signature line, as Brazilian contracts number their witnesses.
    """
    regular, bold = register_fonts()
    canvas.saveState()
    canvas.setStrokeColor(BOX_BORDER)
    canvas.setLineWidth(0.5)
    canvas.setDash(2, 2)
    canvas.rect(x, y, width, height, stroke=1, fill=0)
    canvas.setDash()
    canvas.setStrokeColor(CAPTION_COLOR)
    canvas.setLineWidth(0.8)
    canvas.line(x, y, x + width, y)
    canvas.setFillColor(CAPTION_COLOR)
    if prefix:
        canvas.setFont(regular, 8.5)
        canvas.drawRightString(x - 3, y + 1, prefix)
    cursor = y - CAPTION_LINE
    for text, is_bold in captions:
        font = bold if is_bold else regular
        for line in caption_lines(text, font, 8.5, width):
            canvas.setFont(font, 8.5)
            canvas.drawString(x, cursor, line)
            cursor -= CAPTION_LINE
    canvas.restoreState()


def captions_height(captions: list[tuple[str, bool]], width: float) -> float:
    regular, bold = register_fonts()
    count = sum(len(caption_lines(text, bold if is_bold else regular, 8.5, width)) for text, is_bold in captions)
    return count * CAPTION_LINE + 4


class SignatureBox(Flowable):  # type: ignore[misc]  # reportlab ships no type hints
    """An empty signature box for one role; records a SignatureSlot (absolute PDF points) when drawn.

    With a ``prefix`` (a witness's number) the flowable keeps a narrow gutter on its left for it; the box, and
    so the recorded slot, starts after the gutter.
    """

    def __init__(self, role: str, captions: list[tuple[str, bool]], recorder: SlotRecorder,
                 width: float, prefix: str = "") -> None:
        super().__init__()
        self.role = role
        self.captions = captions
        self.recorder = recorder
        self.prefix = prefix
        self.gutter = PREFIX_GUTTER if prefix else 0.0
        self.box_width = width
        self.caption_height = captions_height(captions, width - self.gutter)

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.box_width = min(self.box_width, avail_width)
        self.caption_height = captions_height(self.captions, self.box_width - self.gutter)
        return self.box_width, BOX_HEIGHT + self.caption_height

    def draw(self) -> None:
        canvas: Canvas = self.canv
        bottom = self.caption_height
        width = self.box_width - self.gutter
        draw_signature_block(canvas, x=self.gutter, y=bottom, width=width, height=BOX_HEIGHT,
                             captions=self.captions, prefix=self.prefix)
        x0, y0 = canvas.absolutePosition(self.gutter, bottom)
        self.recorder.add(SignatureSlot(role=self.role, page=canvas.getPageNumber() - 1, x=round(x0, 2),
                                        y=round(y0, 2), width=round(width, 2), height=BOX_HEIGHT))
