"""Visible signature blocks drawn as page content: reportlab draws an overlay, pypdf merges it.

Blocks are page content, not widget appearances, so they print and survive any viewer; the
cryptographic proof is the PAdES signature applied afterwards over the whole file.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from PIL import Image, UnidentifiedImageError
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
)
from reportlab.lib.colors import Color
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from esign.dispatch.labels import channel_label
from esign.errors import SigningError
from esign.i18n import N_, Translator
from esign.model import ClientEvidence, SignatureSlot
from esign.render.fonts import register_fonts

INK = Color(0.08, 0.16, 0.42)
GREY = Color(0.35, 0.35, 0.35)
FRAME = Color(0.7, 0.72, 0.78)
STRIPE = Color(0.93, 0.94, 0.96)
STRIPE_X, STRIPE_WIDTH = 12.0, 11.0  # as esign.render draws it on the contract pages
_MAX_PNG_PIXELS = 4096 * 4096

Drawer = Callable[[Canvas], None]

COMPANY_SIGNED_AT = N_("Electronically signed on %(when)s")
CLIENT_CAPTION = N_("Electronically signed by %(name)s on %(when)s, code confirmed by %(channel)s to %(destination)s")
STRIPE_TEXT = N_("Document %(id)s · %(label)s")


def utc(at: datetime) -> datetime:
    """``at`` in UTC; naive values are taken as UTC (the ledger stores UTC)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def clean(text: str, limit: int = 600) -> str:
    """Drop control characters (they break PDF text) and cap length so one field cannot fill a page."""
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def find_slot(slots: Sequence[SignatureSlot], role: str, page_count: int) -> SignatureSlot:
    """The slot for ``role``, checked against the document (a wrong slot must not stamp nowhere)."""
    for slot in slots:
        if slot.role == role:
            if not 0 <= slot.page < page_count:
                raise SigningError(f"slots: {role!r} slot is on page {slot.page}, "
                                   f"the document has {page_count} pages")
            if slot.width <= 0 or slot.height <= 0:
                raise SigningError(f"slots: {role!r} slot has an empty rectangle")
            return slot
    raise SigningError(f"slots: the document has no {role!r} signature slot")


def _fit(text: str, font: str, size: float, width: float, min_size: float = 4.5) -> tuple[str, float]:
    """Shrink ``text`` to ``width`` down to ``min_size``, then cut it with an ellipsis."""
    while size > min_size and stringWidth(text, font, size) > width:
        size -= 0.25
    if stringWidth(text, font, size) > width:
        while text and stringWidth(text + "…", font, size) > width:
            text = text[:-1]
        text += "…"
    return text, size


def _mark(c: Canvas, cx: float, cy: float, r: float) -> None:
    """A small seal: a ring with a check mark."""
    c.saveState()
    c.setStrokeColor(INK)
    c.setLineWidth(max(0.6, r / 8))
    c.circle(cx, cy, r)
    c.circle(cx, cy, r * 0.78)
    c.setLineWidth(max(0.8, r / 5))
    path = c.beginPath()
    path.moveTo(cx - r * 0.38, cy)
    path.lineTo(cx - r * 0.08, cy - r * 0.3)
    path.lineTo(cx + r * 0.42, cy + r * 0.32)
    c.drawPath(path, stroke=1, fill=0)
    c.restoreState()


def company_block(slot: SignatureSlot, signer_name: str, signer_title: str, company_name: str,
                  signed_at: datetime, t: Translator) -> Drawer:
    """Drawer for the company block: mark, director name, title, company and signing time (in ``t``'s language
    and time zone, the zone shown)."""
    regular, bold = register_fonts()
    signed = t.gettext(COMPANY_SIGNED_AT) % {"when": t.format_datetime(signed_at)}
    lines = [(clean(signer_name, 120), bold), (clean(signer_title, 120), regular),
             (clean(company_name, 160), regular), (signed, regular)]

    def draw(c: Canvas) -> None:
        pad = min(4.0, slot.height * 0.08)
        c.saveState()
        c.setStrokeColor(FRAME)
        c.setLineWidth(0.6)
        c.roundRect(slot.x, slot.y, slot.width, slot.height, min(4.0, slot.height / 6), stroke=1, fill=0)
        r = min(slot.height * 0.3, slot.width * 0.12)
        _mark(c, slot.x + pad + r, slot.y + slot.height / 2, r)
        left = slot.x + 2 * pad + 2 * r
        width = slot.x + slot.width - pad - left
        size = min(9.0, (slot.height - 2 * pad) / (len(lines) * 1.25))
        y = slot.y + slot.height - pad - size
        for text, font in lines:
            fitted, fsize = _fit(text, font, size, width)
            c.setFillColor(INK if font == bold else GREY)
            c.setFont(font, fsize)
            c.drawString(left, y, fitted)
            y -= size * 1.25
        c.restoreState()

    return draw


def load_drawn_png(data: bytes) -> Image.Image:
    """Decode the client's drawn signature; anything but a sane PNG is refused by name."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format != "PNG":
                raise SigningError(f"drawn_png: expected a PNG image, got {probe.format or 'unknown'}")
            if probe.width * probe.height > _MAX_PNG_PIXELS:
                raise SigningError(f"drawn_png: image too large ({probe.width}x{probe.height} pixels)")
            probe.verify()
        image = Image.open(io.BytesIO(data))
        image.load()
    except SigningError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise SigningError(f"drawn_png: not a readable PNG image ({exc})") from exc
    return image.convert("RGBA")


def client_caption(evidence: ClientEvidence, t: Translator) -> str:
    """The sentence under the client's signature saying who, when and how the code was confirmed."""
    return t.gettext(CLIENT_CAPTION) % {
        "name": clean(evidence.signer_name, 120), "when": t.format_datetime(evidence.signed_at),
        "channel": clean(channel_label(evidence.channel.lower(), t), 20),
        "destination": clean(evidence.masked_destination, 80)}


def client_block(slot: SignatureSlot, evidence: ClientEvidence, t: Translator) -> Drawer:
    """Drawer for the client's block: drawn PNG or typed name in a slanted hand, plus the caption."""
    regular, _bold = register_fonts()
    image = load_drawn_png(evidence.drawn_png) if evidence.drawn_png else None
    typed = clean(evidence.typed_name or evidence.signer_name, 120)
    caption = client_caption(evidence, t)

    def draw(c: Canvas) -> None:
        pad = min(3.0, slot.height * 0.06)
        width = slot.width - 2 * pad
        size = min(7.0, max(4.5, slot.height / 12))
        lines = simpleSplit(caption, regular, size, width)
        while len(lines) * size * 1.2 > slot.height * 0.45 and size > 4.5:
            size -= 0.25
            lines = simpleSplit(caption, regular, size, width)
        caption_h = len(lines) * size * 1.2
        c.saveState()
        c.setFillColor(GREY)
        c.setFont(regular, size)
        y = slot.y + pad + caption_h - size
        for line in lines:
            c.drawString(slot.x + pad, y, line)
            y -= size * 1.2
        base = slot.y + pad + caption_h + 2
        c.setStrokeColor(FRAME)
        c.setLineWidth(0.5)
        c.line(slot.x + pad, base, slot.x + slot.width - pad, base)
        area_h = slot.y + slot.height - pad - base - 2
        if area_h > 2:
            if image is not None:
                c.drawImage(ImageReader(image), slot.x + pad, base + 2, width, area_h,
                            preserveAspectRatio=True, anchor="sw", mask="auto")
            else:
                name, nsize = _fit(typed, regular, min(22.0, area_h * 0.8), width * 0.85, min_size=6)
                c.setFillColor(INK)
                c.translate(slot.x + pad, base + 2 + area_h * 0.2)
                c.skew(0, 14)  # a slanted hand: the shipped font has no script face
                c.setFont(regular, nsize)
                c.drawString(0, 0, name)
        c.restoreState()

    return draw


def stripe(document_id: str, label: str, t: Translator) -> Callable[[Canvas, float, float], None]:
    """Drawer for the thin ID band along the left edge, with the same geometry as the rendered pages."""
    regular, _bold = register_fonts()
    text = t.gettext(STRIPE_TEXT) % {"id": clean(document_id, 80), "label": label}

    def draw(c: Canvas, page_w: float, page_h: float) -> None:
        margin = min(36.0, page_h * 0.05)
        c.saveState()
        c.setFillColor(STRIPE)
        c.rect(STRIPE_X, margin, STRIPE_WIDTH, page_h - 2 * margin, stroke=0, fill=1)
        c.setFillColor(GREY)
        c.setFont(regular, 6.5)
        c.translate(STRIPE_X + STRIPE_WIDTH / 2 + 2.3, page_h / 2)
        c.rotate(90)
        c.drawCentredString(0, 0, text)
        c.restoreState()

    return draw


def render_overlay(page_w: float, page_h: float, drawer: Drawer) -> bytes:
    """Render one drawer on a transparent page of the given size, as a one-page PDF."""
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(page_w, page_h), pageCompression=1)
    drawer(c)
    c.showPage()
    c.save()
    return buf.getvalue()


@lru_cache(maxsize=32)
def company_overlay(page_w: float, page_h: float, slot: SignatureSlot, signer_name: str, signer_title: str,
                    company_name: str, signed_at: datetime, t: Translator) -> bytes:
    """The company block as an overlay PDF, cached: a batch shares signer, signing minute and language, and
    rendering (TTF subsetting included) costs as much as the merge itself."""
    minute = signed_at.replace(second=0, microsecond=0)
    return render_overlay(page_w, page_h, company_block(slot, signer_name, signer_title, company_name, minute, t))


def page_size(page: PageObject) -> tuple[float, float]:
    """Width and height of the canvas that covers the page's MediaBox from the origin."""
    box = page.mediabox
    return float(box.right), float(box.top)


def stamp(page: PageObject, overlay: bytes) -> None:
    """Draw a one-page overlay PDF on top of ``page`` (a page of a PdfWriter), as a Form XObject.

    Why not pypdf's ``merge_page``: it parses and re-serialises the page's whole content stream (thousands of
    operators on a contract page), which cost as much as the signature itself. Here the existing content is left
    as it is, wrapped in q/Q so its graphics state cannot leak, and one ``Do`` of the overlay is appended.
    """
    writer = page.indirect_reference.pdf if page.indirect_reference is not None else None
    if writer is None or not hasattr(writer, "_add_object"):
        page.merge_page(PdfReader(io.BytesIO(overlay)).pages[0])  # a page outside a writer: the slow way
        return
    source = PdfReader(io.BytesIO(overlay)).pages[0]
    box = page.mediabox
    form = DecodedStreamObject()
    content = source.get_contents()
    form.set_data(content.get_data() if content is not None else b"")
    form.update({
        NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Form"),
        NameObject("/BBox"): ArrayObject(FloatObject(v) for v in (min(0.0, float(box.left)),
                                                                   min(0.0, float(box.bottom)),
                                                                   float(box.right), float(box.top))),
        NameObject("/Resources"): source[NameObject("/Resources")].clone(writer),
    })
    form_ref = writer._add_object(form.flate_encode())
    resources = page.get(NameObject("/Resources"))
    resources = resources.get_object() if resources is not None else DictionaryObject()
    page[NameObject("/Resources")] = resources
    xobjects = resources.get(NameObject("/XObject"))
    xobjects = xobjects.get_object() if xobjects is not None else DictionaryObject()
    resources[NameObject("/XObject")] = xobjects
    n = 0
    while NameObject(f"/EsignStamp{n}") in xobjects:
        n += 1
    name = NameObject(f"/EsignStamp{n}")
    xobjects[name] = form_ref
    contents = page.get(NameObject("/Contents"))
    target = contents.get_object() if contents is not None else None
    existing = list(target) if isinstance(target, ArrayObject) else ([contents] if contents is not None else [])
    page[NameObject("/Contents")] = ArrayObject(
        [_stream_ref(writer, b"q\n"), *existing, _stream_ref(writer, b"\nQ\nq " + name.encode() + b" Do Q\n")])


def _stream_ref(writer: PdfWriter, data: bytes) -> IndirectObject:
    stream = DecodedStreamObject()
    stream.set_data(data)
    ref: IndirectObject = writer._add_object(stream)
    return ref


def resolved(dictionary: Any, key: str) -> Any:
    """``dictionary[key]`` resolved (pyHanko's ``get`` returns raw references), or None."""
    return dictionary[key] if key in dictionary else None  # noqa: SIM401 - get() returns raw references


def page_count(writer: IncrementalPdfFileWriter) -> int:
    return int(writer.root["/Pages"]["/Count"])


def copy_dictionary(dictionary: Any) -> Any:
    """A direct shallow copy of a dictionary (references inside stay references), or a new empty one."""
    return generic.DictionaryObject(dict(dictionary.items()) if dictionary is not None else None)  # type: ignore[no-untyped-call]


@lru_cache(maxsize=8)
def _overlay_reader(overlay: bytes) -> PdfFileReader:
    """A parsed overlay, kept: the company block is the same PDF for a whole batch, and pyHanko's reader keeps
    the objects it has read, so each import copies them instead of parsing the overlay again."""
    return PdfFileReader(io.BytesIO(overlay))


def stamp_incremental(writer: IncrementalPdfFileWriter, page_ix: int, overlay: bytes) -> None:
    """``stamp`` for a pyHanko incremental writer: the overlay becomes a Form XObject drawn after the page's own
    content (left untouched, wrapped in q/Q); only the page and the new objects go into the update."""
    form_ref = writer.import_page_as_xobject(_overlay_reader(overlay), 0)
    page_ref, inherited = writer.find_page_for_modification(page_ix)  # type: ignore[no-untyped-call]
    page = page_ref.get_object()
    raw = page.raw_get("/Resources") if "/Resources" in page else inherited
    resources = copy_dictionary(raw.get_object() if raw is not None else None)
    xobjects = copy_dictionary(resolved(resources, "/XObject"))
    n = 0
    while f"/EsignStamp{n}" in xobjects:
        n += 1
    name = pdf_name(f"/EsignStamp{n}")
    xobjects[name] = form_ref
    resources[pdf_name("/XObject")] = xobjects
    page[pdf_name("/Resources")] = resources
    contents = page.raw_get("/Contents") if "/Contents" in page else None
    target = contents.get_object() if contents is not None else None
    existing = list(target.raw_get(i) for i in range(len(target))) if isinstance(target, generic.ArrayObject) \
        else ([contents] if contents is not None else [])
    before = writer.add_object(generic.StreamObject(stream_data=b"q\n"))
    after = writer.add_object(generic.StreamObject(stream_data=b"\nQ\nq " + name.encode() + b" Do Q\n"))
    page[pdf_name("/Contents")] = generic.ArrayObject([before, *existing, after])
    writer.mark_update(page_ref)
