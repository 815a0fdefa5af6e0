"""The strict reader of revisions and object syntax: what it accepts, and every way it refuses a file."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfWriter
from reportlab.pdfgen.canvas import Canvas

from esign.verify.pdfsyntax import Name, PdfDict, PdfString, PdfSyntaxError, Reader, Ref
from esign.verify.revisions import IN_OBJECT_STREAM, RevisionError, read_revisions


def _pdf() -> bytes:
    buf = io.BytesIO()
    canvas = Canvas(buf)
    canvas.drawString(72, 720, "Contrato")
    canvas.save()
    return buf.getvalue()


def _update(data: bytes) -> bytes:
    """An incremental update as pypdf writes it: with a cross-reference stream."""
    writer = PdfWriter(io.BytesIO(data), incremental=True)
    writer.add_metadata({"/Title": "changed"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_one_revision_and_an_update() -> None:
    first = _pdf()
    second = _update(first)
    one = read_revisions(first)
    assert len(one.revisions) == 1 and one.revisions[0].end == len(first) and one.trailing == 0
    two = read_revisions(second)
    assert [r.end for r in two.revisions] == [len(first), len(second)]
    assert two.revisions[1].start == len(first) and two.ending_at(len(first)) is two.revisions[0]
    changed = set(two.revisions[1].defined)
    assert changed and all(two.definitions(n)[-1][0].index == 1 for n in changed)


def test_bytes_after_the_last_revision_are_counted() -> None:
    assert read_revisions(_pdf() + b"junk after the end\n").trailing == len(b"junk after the end\n")


def _xref_offset(data: bytes) -> int:
    return int(data[data.rindex(b"startxref") + 9:].split()[0])


@pytest.mark.parametrize(("change", "code"), [
    (lambda d: b"\n" + d, "header_not_at_start"),
    (lambda d: d.replace(b"startxref", b"startxrex"), "no_startxref"),
    (lambda d: d[: d.rindex(b"%%EOF")], "no_eof_marker"),
    (lambda d: d.replace(b"xref\n0 ", b"xreF\n0 ", 1), "no_xref_at_offset"),
    (lambda d: d.replace(b" 00000 n", b" 00000 x", 1), "bad_xref_entry"),
    (lambda d: d.replace(b"trailer", b"trailor", 1), "bad_xref"),
    (lambda d: d.replace(b"/Size", b"/Prev %d /Size" % _xref_offset(d), 1), "prev_not_earlier"),
    (lambda d: d.replace(b"/Size", b"/XRefStm 9 /Size", 1), "xref_stream_unsupported"),
    (lambda d: d.replace(b"/Size", b"/Size 3 /Size", 1), "duplicate_key"),
])
def test_refusals_name_the_problem(change: object, code: str) -> None:
    with pytest.raises(RevisionError) as err:
        read_revisions(change(_pdf()))  # type: ignore[operator]
    assert err.value.code == code


def test_an_entry_must_point_at_its_object() -> None:
    data = _pdf()
    at = _xref_offset(data)
    table = data[at:]
    entries = table.split(b"\n")
    entries[3], entries[4] = entries[4], entries[3]  # objects 1 and 2 swap offsets
    with pytest.raises(RevisionError) as err:
        read_revisions(data[:at] + b"\n".join(entries))
    assert err.value.code == "xref_points_elsewhere"


def test_startxref_must_point_at_its_own_section() -> None:
    data = _pdf()
    at = _xref_offset(data)
    moved = data[: data.rindex(b"startxref")] + b"startxref\n%d\n%%%%EOF\n" % (at - 1)
    with pytest.raises(RevisionError):
        read_revisions(moved)


def test_xref_streams_are_read(tmp_path: Path) -> None:
    """qpdf writes object and cross-reference streams (with a PNG predictor): read, objects in streams marked."""
    source, target = tmp_path / "in.pdf", tmp_path / "out.pdf"
    source.write_bytes(_pdf())
    subprocess.run(["qpdf", "--object-streams=generate", str(source), str(target)], check=True)
    data = target.read_bytes()
    assert b"/XRef" in data and b"/ObjStm" in data
    revisions = read_revisions(data)
    assert len(revisions.revisions) == 1 and revisions.trailing == 0
    assert IN_OBJECT_STREAM in revisions.revisions[0].defined.values()
    hybrid = data.replace(b"/Type /XRef", b"/Type /XRef /XRefStm 0", 1)
    with pytest.raises(RevisionError) as err:
        read_revisions(hybrid)
    assert err.value.code in ("xref_stream_unsupported", "bad_xref_stream")


def _last(data: bytes, old: bytes, new: bytes) -> bytes:
    """``old`` replaced by ``new`` (same length: no offset moves) where it last occurs: in the xref stream."""
    head, _, tail = data.rpartition(old)
    return head + new + tail


@pytest.mark.parametrize(("change", "detail"), [
    (lambda d: _last(d, b"/FlateDecode", b"/FlateDecodX"), "filter other than FlateDecode"),
    (lambda d: d.replace(b"/W [ 1", b"/W [ 9", 1), "/W is not three small widths"),
    (lambda d: d.replace(b"/Type /XRef", b"/Type /XRex", 1), "not an xref stream"),
])
def test_bad_xref_streams_are_refused(tmp_path: Path, change: object, detail: str) -> None:
    source, target = tmp_path / "in.pdf", tmp_path / "out.pdf"
    source.write_bytes(_pdf())
    subprocess.run(["qpdf", "--object-streams=generate", str(source), str(target)], check=True)
    with pytest.raises(RevisionError) as err:
        read_revisions(change(target.read_bytes()))  # type: ignore[operator]
    assert err.value.code == "bad_xref_stream" and detail in str(err.value)


def test_syntax_keeps_spans_and_duplicates() -> None:
    data = b"7 0 obj\n<< /A 1 0 R /B (a (nested\\) one)) /C <0aFF> /D [1 2.5 /N] /A 3 >>\nendobj"
    reader = Reader(data)
    num, gen, after = reader.object_header(0)
    value, end = reader.dictionary(after)
    assert (num, gen) == (7, 0) and isinstance(value, PdfDict) and data[end - 2:end] == b">>"
    assert value.duplicates == [b"A"] and value.get(b"A") == 3
    literal = value.get(b"B")
    assert isinstance(literal, PdfString) and not literal.hex and literal.raw == b"a (nested\\) one)"
    hexed = value.get(b"C")
    assert isinstance(hexed, PdfString) and hexed.hex and data[hexed.start:hexed.end] == b"<0aFF>"
    assert value.get(b"D") == [1, 2.5, Name(b"N")] and isinstance(Reader(b"1 0 R").value(0)[0], Ref)


@pytest.mark.parametrize("data", [b"<< /A (unterminated >>", b"<< /A <00", b"<< 1 2 >>", b"[" * 100 + b"]" * 100,
                                  b"<< /A [1 2 >>", b""])
def test_syntax_refusals(data: bytes) -> None:
    with pytest.raises(PdfSyntaxError):
        Reader(data).value(0)
