"""The revisions of a PDF, read from its cross-reference chain (ISO 32000-2 §7.5.4-7.5.6), strictly.

A file is its first revision followed by incremental updates, each ending with its own xref section, trailer,
``startxref`` and ``%%EOF``. Starting from the last ``startxref`` and following ``/Prev``, this finds every
revision's byte span and the objects it (re)defines or frees. Each revision must occupy its own consecutive
stretch of the file, every xref entry in use must point at that object's header, and offsets must only grow:
a file that needs repairing to be read is not read. Sections may be classic tables or xref streams
(:mod:`esign.verify.xref_streams`); hybrid files (a table plus /XRefStm) are refused, since readers disagree on
them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from esign.verify.pdfsyntax import WHITESPACE, PdfDict, PdfSyntaxError, Reader
from esign.verify.xref_streams import Entry, XrefStreamError, read_xref_stream

#: More revisions than this is not a document anyone signs (ours have one or two).
MAX_REVISIONS = 64
_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])(?: \r| \n|\r\n)")
_SUBSECTION = re.compile(rb"(\d{1,10}) (\d{1,10})[ \t]*(?:\r\n|\r|\n)")
_EOF_MARK = b"%%EOF"
#: The "offset" of an object defined inside an object stream (it has no offset of its own).
IN_OBJECT_STREAM = -1


class RevisionError(Exception):
    """Why the revisions cannot be read; ``code`` is a stable machine code, ``params`` say where."""

    def __init__(self, code: str, **params: int | str) -> None:
        super().__init__(code + "".join(f" {k}={v}" for k, v in params.items()))
        self.code = code
        self.params = params


@dataclass(frozen=True, slots=True)
class Revision:
    index: int  # 0 for the original document
    start: int  # first byte of this revision (0, or the end of the previous one)
    end: int  # just after its %%EOF and end-of-line
    xref_offset: int
    defined: dict[int, int]  # object number -> offset of its definition, or IN_OBJECT_STREAM
    freed: frozenset[int]
    trailer: PdfDict


@dataclass(frozen=True, slots=True)
class Revisions:
    revisions: tuple[Revision, ...]
    trailing: int  # bytes after the last revision's end

    def ending_at(self, offset: int) -> Revision | None:
        return next((r for r in self.revisions if r.end == offset), None)

    def definitions(self, number: int) -> list[tuple[Revision, int | None]]:
        """Every revision that defines (offset, or IN_OBJECT_STREAM) or frees (None) object ``number``, oldest
        first."""
        out: list[tuple[Revision, int | None]] = []
        for rev in self.revisions:
            if number in rev.defined:
                out.append((rev, rev.defined[number]))
            elif number in rev.freed:
                out.append((rev, None))
        return out


def read_revisions(data: bytes) -> Revisions:
    """All revisions, oldest first; raises :class:`RevisionError` for anything but a clean xref chain."""
    if not data.startswith(b"%PDF-"):
        raise RevisionError("header_not_at_start")
    reader = Reader(data)
    last = data.rfind(b"startxref")
    if last < 0:
        raise RevisionError("no_startxref")
    try:
        offset, _ = reader.integer(last + len(b"startxref"))
    except PdfSyntaxError as exc:
        raise RevisionError("bad_startxref", offset=exc.offset) from exc
    found: list[Revision] = []
    next_offset: int | None = offset
    while next_offset is not None:
        if len(found) >= MAX_REVISIONS:
            raise RevisionError("too_many_revisions", limit=MAX_REVISIONS)
        if found and next_offset >= found[-1].xref_offset:
            raise RevisionError("prev_not_earlier", offset=next_offset)
        revision, next_offset = _read_section(reader, next_offset)
        found.append(revision)
    found.reverse()
    revisions = _place(found, data)
    return Revisions(revisions, trailing=len(data) - revisions[-1].end)


def _read_section(reader: Reader, offset: int) -> tuple[Revision, int | None]:
    """One xref section, its trailer and its %%EOF: (revision with index/start unset, /Prev or None)."""
    data = reader.data
    if data.startswith(b"xref", offset):
        trailer, defined, freed, pos = _read_table(reader, offset)
    elif data[offset:offset + 1].isdigit():
        try:
            trailer, entries, pos = read_xref_stream(reader, offset)
        except XrefStreamError as exc:
            raise RevisionError("bad_xref_stream", detail=str(exc), offset=exc.offset) from exc
        defined, freed = _stream_entries(reader, entries)
    else:
        raise RevisionError("no_xref_at_offset", offset=offset)
    try:
        pos = reader.expect(pos, b"startxref")
        pointed, pos = reader.integer(pos)
    except PdfSyntaxError as exc:
        raise RevisionError("bad_trailer", offset=exc.offset) from exc
    if pointed != offset:
        raise RevisionError("startxref_mismatch", offset=offset)
    while pos < len(data) and data[pos] in WHITESPACE:  # not Reader.skip: it would take %%EOF for a comment
        pos += 1
    if not data.startswith(_EOF_MARK, pos):
        raise RevisionError("no_eof_marker", offset=pos)
    end = pos + len(_EOF_MARK)
    end += 2 if data.startswith(b"\r\n", end) else (1 if data[end:end + 1] in (b"\r", b"\n") else 0)
    if trailer.duplicates:
        raise RevisionError("duplicate_key", key=trailer.duplicates[0].decode("latin-1"), offset=trailer.start)
    if b"XRefStm" in trailer.entries:
        raise RevisionError("xref_stream_unsupported", offset=offset)
    prev = trailer.get(b"Prev")
    if prev is not None and (not isinstance(prev, int) or isinstance(prev, bool)):
        raise RevisionError("bad_trailer", offset=trailer.start)
    revision = Revision(index=-1, start=-1, end=end, xref_offset=offset, defined=defined,
                        freed=frozenset(freed), trailer=trailer)
    return revision, prev


def _read_table(reader: Reader, offset: int) -> tuple[PdfDict, dict[int, int], set[int], int]:
    """A classic table and its trailer: (trailer, defined, freed, offset after the trailer)."""
    data = reader.data
    eol = re.compile(rb"[ \t]*(?:\r\n|\r|\n)").match(data, offset + 4)
    if eol is None:
        raise RevisionError("bad_xref", offset=offset + 4)
    pos = eol.end()
    defined: dict[int, int] = {}
    freed: set[int] = set()
    while not data.startswith(b"trailer", pos):
        sub = _SUBSECTION.match(data, pos)
        if sub is None:
            raise RevisionError("bad_xref", offset=pos)
        first, count = int(sub.group(1)), int(sub.group(2))
        pos = sub.end()
        if count * 20 > len(data) - pos:
            raise RevisionError("bad_xref", offset=pos)
        for number in range(first, first + count):
            entry = _ENTRY.match(data, pos)
            if entry is None:
                raise RevisionError("bad_xref_entry", offset=pos)
            pos = entry.end()
            if number in defined or number in freed:
                raise RevisionError("xref_entry_twice", object=number)
            if entry.group(3) == b"n":
                defined[number] = int(entry.group(1))
                _check_header(reader, number, int(entry.group(2)), defined[number])
            elif number:
                freed.add(number)
    try:
        trailer, pos = reader.dictionary(pos + len(b"trailer"))
    except PdfSyntaxError as exc:
        raise RevisionError("bad_trailer", offset=exc.offset) from exc
    return trailer, defined, freed, pos


def _stream_entries(reader: Reader, entries: list[Entry]) -> tuple[dict[int, int], set[int]]:
    defined: dict[int, int] = {}
    freed: set[int] = set()
    for entry in entries:
        if entry.number in defined or entry.number in freed:
            raise RevisionError("xref_entry_twice", object=entry.number)
        if entry.kind == 1:
            defined[entry.number] = entry.field2
            _check_header(reader, entry.number, entry.field3, entry.field2)
        elif entry.kind == 2:
            defined[entry.number] = IN_OBJECT_STREAM
        elif entry.kind == 0 and entry.number:
            freed.add(entry.number)
    return defined, freed


def _check_header(reader: Reader, number: int, generation: int, offset: int) -> None:
    try:
        num, gen, _ = reader.object_header(offset)
    except PdfSyntaxError as exc:
        raise RevisionError("xref_points_elsewhere", object=number, offset=offset) from exc
    if (num, gen) != (number, generation):
        raise RevisionError("xref_points_elsewhere", object=number, offset=offset)


def _place(found: list[Revision], data: bytes) -> tuple[Revision, ...]:
    """Number the revisions and check each lies in its own consecutive stretch of the file."""
    placed: list[Revision] = []
    start = 0
    for index, rev in enumerate(found):
        if not start <= rev.xref_offset < rev.end or (placed and rev.xref_offset < placed[-1].end):
            raise RevisionError("revisions_overlap", revision=index)
        for number, offset in rev.defined.items():
            inside = start <= offset < rev.xref_offset or offset == rev.xref_offset  # or the xref stream itself
            if offset != IN_OBJECT_STREAM and not inside:
                raise RevisionError("object_outside_its_revision", object=number, revision=index)
        placed.append(Revision(index=index, start=start, end=rev.end, xref_offset=rev.xref_offset,
                               defined=rev.defined, freed=rev.freed, trailer=rev.trailer))
        start = rev.end
    if start > len(data):
        raise RevisionError("revisions_overlap", revision=len(placed) - 1)
    return tuple(placed)
