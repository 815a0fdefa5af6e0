"""Contract templates (``kind: contract``) laid out with reportlab platypus.

Why platypus: clauses and item tables of any length flow over pages by themselves; the only things we
draw by hand are the page decorations (after layout, once the page count is known) and the signature
boxes (which record their own position).
"""

from __future__ import annotations

import copy
import functools
import io
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import reportlab
from markupsafe import escape
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from esign.errors import RenderError
from esign.i18n import translator
from esign.model import Party, SignatureSlot
from esign.model.signers import SignerSpec
from esign.render.decorations import PRODUCER, apply_metadata, draw_decorations
from esign.render.filters import cpf_cnpj, format_number, money, tax_label
from esign.render.flowables import SlotRecorder
from esign.render.fonts import register_fonts
from esign.render.signature_blocks import SignatureLayout, expected_slots
from esign.render.templates import Block, DocumentTemplate

PAGE_SIZES = {"A4": A4, "letter": letter}
MARGIN_LEFT = 28 * mm
MARGIN_RIGHT = 20 * mm
MARGIN_TOP = 20 * mm
MARGIN_BOTTOM = 22 * mm
ORDINALS_PT = ("PRIMEIRA", "SEGUNDA", "TERCEIRA", "QUARTA", "QUINTA", "SEXTA", "SÉTIMA", "OITAVA", "NONA",
               "DÉCIMA", "DÉCIMA PRIMEIRA", "DÉCIMA SEGUNDA", "DÉCIMA TERCEIRA", "DÉCIMA QUARTA",
               "DÉCIMA QUINTA", "DÉCIMA SEXTA", "DÉCIMA SÉTIMA", "DÉCIMA OITAVA", "DÉCIMA NONA", "VIGÉSIMA")
ALIGN = {"left": TA_LEFT, "justify": TA_JUSTIFY, "center": TA_CENTER, "right": TA_RIGHT}
TEXT = {
    "pt_BR": {"clause": "CLÁUSULA {ordinal}", "company": "CONTRATADA", "counterparty": "CONTRATANTE",
              "description": "Descrição", "quantity": "Qtd.", "unit_price": "Valor unitário", "total": "Total",
              "grand_total": "Valor total", "no_items": "Valor total do contrato: {amount}."},
    "en_US": {"clause": "CLAUSE {n}", "company": "PROVIDER", "counterparty": "CLIENT",
              "description": "Description", "quantity": "Qty", "unit_price": "Unit price", "total": "Total",
              "grand_total": "Total amount", "no_items": "Total contract value: {amount}."},
}
GRID = colors.Color(0.75, 0.77, 0.8)
HEADER_FILL = colors.Color(0.92, 0.93, 0.95)


@functools.cache
def styles() -> dict[str, ParagraphStyle]:
    """Paragraph styles, built once per process (they are immutable in use)."""
    regular, bold = register_fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=13.5, alignment=TA_JUSTIFY,
                          spaceAfter=5)
    return {
        "body": body,
        "h1": ParagraphStyle("h1", parent=body, fontName=bold, fontSize=14, leading=18, alignment=TA_CENTER,
                             spaceBefore=4, spaceAfter=12),
        "h2": ParagraphStyle("h2", parent=body, fontName=bold, fontSize=11, leading=15, alignment=TA_LEFT,
                             spaceBefore=8, spaceAfter=6),
        "clause": ParagraphStyle("clause", parent=body, fontName=bold, fontSize=9.5, alignment=TA_LEFT,
                                 spaceBefore=7, spaceAfter=3, keepWithNext=1),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8.5, leading=11, alignment=TA_LEFT, spaceAfter=0),
        "cell_bold": ParagraphStyle("cell_bold", parent=body, fontName=bold, fontSize=8.5, leading=11,
                                    alignment=TA_LEFT, spaceAfter=0),
    }


class _DecoratedCanvas(Canvas):  # type: ignore[misc]  # reportlab ships no type hints
    """Holds pages back until the end so each can say "Página n de N" and carry the ID stripe."""

    def __init__(self, *args: Any, document_id: str, locale: str, title: str, issued_at: datetime,
                 decorate: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._esign = (document_id, locale, decorate)
        self._held: list[dict[str, Any]] = []
        self.page_total = 0
        apply_metadata(self, title=title, document_id=document_id, issued_at=issued_at)

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        self._held.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        document_id, locale, decorate = self._esign
        held, total = self._held, len(self._held)
        for number, state in enumerate(held, start=1):
            self.__dict__.update(state)
            width, height = self._pagesize
            if decorate:
                draw_decorations(self, width=width, height=height, page_no=number, total=total,
                                 document_id=document_id, locale=locale)
            Canvas.showPage(self)
        self.page_total = total  # set after the loop: restoring page states resets attributes
        Canvas.save(self)


#: The reportlab releases whose Paragraph keeps its layout in ``_LAYOUT`` (checked: with another, every paragraph is
#: laid out on its own, as reportlab does).
_REPORTLAB_TESTED = ("5.1.",)
#: What Paragraph.wrap computes (width first, height last).
_LAYOUT = ("width", "_wrapWidths", "blPara", "height")


class _SharedParagraph(Paragraph):  # type: ignore[misc]  # reportlab ships no type hints
    """A Paragraph whose markup parse and line breaks are shared by every copy with the same text and style.

    Most clauses render to the same text for every deal of a batch; parsing and breaking them once per process
    instead of once per document is about a third of the layout cost. Layout is a pure function of text, style
    and width, so the PDF bytes are unchanged. Pieces split off at a page end are plain, unshared layouts.
    """

    _layouts: dict[float, tuple[Any, ...]] | None = None

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        layouts = self._layouts
        if layouts is None:
            return super().wrap(avail_width, avail_height)  # type: ignore[no-any-return]
        hit = layouts.get(avail_width)
        if hit is None:
            size = super().wrap(avail_width, avail_height)
            if hasattr(self, "blPara"):
                layouts[avail_width] = tuple(getattr(self, name) for name in _LAYOUT)
            return size  # type: ignore[no-any-return]
        for name, value in zip(_LAYOUT, hit, strict=True):
            setattr(self, name, value)
        return hit[0], hit[-1]


#: Parsed paragraphs by (text, style), least recently used first; per-deal texts churn through, clauses stay.
_PARAGRAPHS: OrderedDict[tuple[str, int], _SharedParagraph] = OrderedDict()
_PARAGRAPHS_MAX = 2048


def sharing_layouts(version: str | None = None) -> bool:
    """Whether paragraphs share their layouts: only on a tested reportlab release."""
    return (version or reportlab.Version).startswith(_REPORTLAB_TESTED)


def shared_paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    """A fresh Paragraph for ``text`` in one of the process-wide ``styles()``, parsed and laid out once."""
    if not sharing_layouts():
        return Paragraph(text, style)
    key = (text, id(style))
    proto = _PARAGRAPHS.get(key)
    if proto is None:
        proto = _SharedParagraph(text, style)
        proto._layouts = {}
        _PARAGRAPHS[key] = proto
        if len(_PARAGRAPHS) > _PARAGRAPHS_MAX:
            _PARAGRAPHS.popitem(last=False)
    else:
        _PARAGRAPHS.move_to_end(key)
    return copy.copy(proto)


class _Builder:
    """Turns the blocks of one template into flowables for one deal."""

    def __init__(self, template: DocumentTemplate, context: dict[str, Any], recorder: SlotRecorder,
                 frame_width: float, slots: set[str] | None = None) -> None:
        self.template = template
        self.context = context
        self.recorder = recorder
        self.width = frame_width
        self.words = TEXT[template.locale]
        self.styles = styles()
        self.slots = slots  # the signature blocks to draw; None: the company's and every signer's

    def para(self, text: str, style: str | ParagraphStyle, where: str) -> Paragraph:
        try:
            if isinstance(style, str):  # a shared style: the layout can be shared too
                return shared_paragraph(text, self.styles[style])
            return Paragraph(text, style)
        except Exception as exc:  # reportlab's markup parser raises ValueError and friends
            raise RenderError(f"template {self.template.id!r}: {where}: invalid paragraph markup ({exc})") from exc

    def render(self, block: Block, key: str) -> str:
        return block.texts[key].render(self.context) if key in block.texts else ""

    def build(self, blocks: Sequence[Block]) -> list[Flowable]:
        story: list[Flowable] = []
        for block in blocks:
            story.extend(getattr(self, f"block_{block.type}")(block))
        return story

    def block_heading(self, block: Block) -> list[Flowable]:
        style = "h1" if int(block.options.get("level", 1)) <= 1 else "h2"
        return [self.para(self.render(block, "text"), style, block.where)]

    def block_paragraph(self, block: Block) -> list[Flowable]:
        align = ALIGN.get(str(block.options.get("align", "justify")), TA_JUSTIFY)
        style = self.styles["body"] if align == TA_JUSTIFY else ParagraphStyle(
            "aligned", parent=self.styles["body"], alignment=align)
        return [self.para(chunk, style, block.where) for chunk in _paragraphs(self.render(block, "text"))]

    def block_spacer(self, block: Block) -> list[Flowable]:
        return [Spacer(1, float(block.options.get("height", 12)))]

    def block_page_break(self, block: Block) -> list[Flowable]:
        return [PageBreak()]

    def _title(self, block: Block) -> list[Flowable]:
        title = self.render(block, "title")
        return [self.para(title, "h2", block.where)] if title.strip() else []

    def block_parties(self, block: Block) -> list[Flowable]:
        labels = (str(block.options.get("company_label", self.words["company"])),
                  str(block.options.get("counterparty_label", self.words["counterparty"])))
        parties = (self.context["company"], self.context["counterparty"])
        return [*self._title(block), *(self.para(_party_text(party, label, self.template.locale), "body",
                                                 block.where) for party, label in zip(parties, labels,
                                                                                      strict=True))]

    def block_fields(self, block: Block) -> list[Flowable]:
        rows = []
        for index, row in enumerate(block.rows):
            where = f"{block.where}.rows[{index}]"
            label = row["label"].render(self.context) if "label" in row else ""
            rows.append([self.para(label, "cell_bold", where),
                         self.para(row["value"].render(self.context), "cell", where)])
        table = Table(rows, colWidths=[self.width * 0.3, self.width * 0.7])
        table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), register_fonts()[0]),
                                   ("VALIGN", (0, 0), (-1, -1), "TOP"), ("GRID", (0, 0), (-1, -1), 0.4, GRID),
                                   ("BACKGROUND", (0, 0), (0, -1), HEADER_FILL)]))
        return [*self._title(block), table, Spacer(1, 8)]

    def block_items_table(self, block: Block) -> list[Flowable]:
        items = self.context["items"]
        currency, locale = self.context["currency"], self.template.locale
        if not items:
            text = self.render(block, "empty_text") or str(escape(self.words["no_items"].format(
                amount=money(self.context["total"], currency, locale))))
            return [*self._title(block), self.para(text, "body", block.where)]
        words = {key: str(block.options.get(f"{key}_label", self.words[key]))
                 for key in ("description", "quantity", "unit_price", "total", "grand_total")}
        regular, bold = register_fonts()
        rows: list[list[Any]] = [[words["description"], words["quantity"], words["unit_price"], words["total"]]]
        for item in items:
            rows.append([self.para(str(escape(item.description)), "cell", block.where),
                         format_number(item.quantity, None, locale), money(item.unit_price, currency, locale),
                         money(item.total, currency, locale)])
        rows.append([words["grand_total"], "", "", money(self.context["total"], currency, locale)])
        table = Table(rows, colWidths=[self.width * 0.46, self.width * 0.12, self.width * 0.21,
                                       self.width * 0.21], repeatRows=1, splitInRow=1)
        table.setStyle(TableStyle([
            ("FONTNAME", (0, 0), (-1, -1), regular), ("FONTSIZE", (0, 0), (-1, -1), 8.5),
            ("FONTNAME", (0, 0), (-1, 0), bold), ("FONTNAME", (0, -1), (-1, -1), bold),
            ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL), ("GRID", (0, 0), (-1, -1), 0.4, GRID),
            ("ALIGN", (1, 0), (-1, -1), "RIGHT"), ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("SPAN", (0, -1), (2, -1)),
        ]))
        return [*self._title(block), table, Spacer(1, 8)]

    def block_clauses(self, block: Block) -> list[Flowable]:
        label = str(block.options.get("label", self.words["clause"]))
        story = self._title(block)
        for number, clause in enumerate(block.rows, start=1):
            where = f"{block.where}.items[{number - 1}]"
            ordinal = ORDINALS_PT[number - 1] if number <= len(ORDINALS_PT) else f"{number}ª"
            heading = str(escape(label.replace("{n}", str(number)).replace("{ordinal}", ordinal)))
            if "title" in clause:
                heading += " – " + clause["title"].render(self.context)
            story.append(self.para(heading, "clause", where))
            story.extend(self.para(chunk, "body", where) for chunk in _paragraphs(clause["text"].render(
                self.context)))
        return story

    def block_signatures(self, block: Block) -> list[Flowable]:
        labels = (str(block.options.get("company_label", self.words["company"])),
                  str(block.options.get("client_label", self.words["counterparty"])))
        text = self.render(block, "text")
        intro = [self.para(chunk, "body", block.where) for chunk in _paragraphs(text)]
        signers: tuple[SignerSpec, ...] = self.context["signers"]
        wanted = self.slots
        layout = SignatureLayout(self.context, self.recorder, self.width, translator(self.template.locale),
                                 lambda text: self.para(text, "body", "signatures"))
        if wanted is None and len(signers) == 1 and signers[0].slot == "client":
            return layout.two_blocks(labels, intro)  # one signer: the layout every document had before
        wanted = wanted if wanted is not None else {"company", *(s.slot for s in signers)}
        return layout.many_blocks(labels, intro, signers, wanted)

def _paragraphs(text: str) -> list[str]:
    """Split a rendered snippet on blank lines: each chunk becomes its own paragraph."""
    chunks = [chunk.strip() for chunk in text.replace("\r\n", "\n").split("\n\n")]
    return [chunk for chunk in chunks if chunk]


def _party_text(party: Party, label: str, locale: str) -> str:
    """One party's legal qualification, as a paragraph (values escaped)."""
    e = escape
    kind = tax_label(party.tax_id)
    tax = cpf_cnpj(party.tax_id)
    if locale == "en_US":
        parts = [f"<b>{e(label)}:</b> {e(party.name)}, {kind} {e(tax)}"]
        if party.address:
            parts.append(f"located at {e(party.address)}")
        if party.representative:
            rep = f"represented by {e(party.representative)}"
            parts.append(f"{rep}, {e(party.representative_title)}" if party.representative_title else rep)
    elif kind == "CPF":
        parts = [f"<b>{e(label)}:</b> {e(party.name)}, pessoa física, inscrita no CPF sob o nº {e(tax)}"]
        if party.address:
            parts.append(f"residente e domiciliada em {e(party.address)}")
    else:
        parts = [f"<b>{e(label)}:</b> {e(party.name)}, pessoa jurídica de direito privado, inscrita no CNPJ "
                 f"sob o nº {e(tax)}"]
        if party.address:
            parts.append(f"com sede em {e(party.address)}")
        if party.representative:
            rep = f"neste ato representada por {e(party.representative)}"
            parts.append(f"{rep}, {e(party.representative_title)}" if party.representative_title else rep)
    contact = " · ".join(str(e(value)) for value in (party.email, party.phone) if value)
    text = ", ".join(parts) + "."
    return f"{text} {contact}" if contact else text


def build_pdf(story: list[Flowable], *, page_size: tuple[float, float], title: str, document_id: str,
              locale: str, issued_at: datetime, decorate: bool = True) -> tuple[bytes, int]:
    """Lay out the flowables and return the PDF bytes and page count."""
    buffer = io.BytesIO()
    width, height = page_size
    frame = Frame(MARGIN_LEFT, MARGIN_BOTTOM, width - MARGIN_LEFT - MARGIN_RIGHT,
                  height - MARGIN_TOP - MARGIN_BOTTOM, id="body", leftPadding=0, rightPadding=0,
                  topPadding=0, bottomPadding=0)
    doc = BaseDocTemplate(buffer, pagesize=page_size, invariant=1, initialFontName=register_fonts()[0],
                          title=title, author=PRODUCER,
                          creator=PRODUCER, producer=PRODUCER, subject=f"Documento {document_id}",
                          pageTemplates=[PageTemplate(id="page", frames=[frame])])
    maker = functools.partial(_DecoratedCanvas, document_id=document_id, locale=locale, title=title,
                              issued_at=issued_at, decorate=decorate)
    try:
        doc.build(story, canvasmaker=maker)
    except RenderError:
        raise
    except Exception as exc:  # LayoutError and reportlab's other failures: name them, don't crash the batch
        raise RenderError(f"layout failed: {type(exc).__name__}: {str(exc)[:300]}") from exc
    return buffer.getvalue(), int(doc.canv.page_total)


def render_blocks(template: DocumentTemplate, blocks: Sequence[Block], context: dict[str, Any], *,
                  title: str, document_id: str, issued_at: datetime,
                  page_size: tuple[float, float] | None = None, decorate: bool = True,
                  slots: set[str] | None = None) -> tuple[bytes, int, tuple[SignatureSlot, ...]]:
    """Render blocks to a PDF; returns bytes, page count and the recorded signature slots.

    ``decorate=False`` leaves out stripe and page numbers (the caller overlays them with the right total).
    ``slots`` names the signature blocks to draw (a page completing an existing PDF's); by default the company's
    and every signing person's. Each must be drawn exactly once.
    """
    size = page_size or PAGE_SIZES[template.page_size]
    recorder = SlotRecorder()
    width = size[0] - MARGIN_LEFT - MARGIN_RIGHT
    story = _Builder(template, context, recorder, width, slots).build(blocks)
    pdf, pages = build_pdf(story, page_size=size, title=title, document_id=document_id,
                           locale=template.locale, issued_at=issued_at, decorate=decorate)
    roles = sorted(slot.role for slot in recorder.slots)
    wanted = sorted(slots if slots is not None else expected_slots(context))
    if roles != wanted:
        raise RenderError(f"template {template.id!r}: signature blocks drawn for {roles}, expected "
                          f"{', '.join(wanted)} once each")
    return pdf, pages, tuple(sorted(recorder.slots, key=lambda slot: slot.role != "company"))
