"""Cross-reference streams (ISO 32000-2 §7.5.8), read strictly: Flate only, PNG predictors, bounded output.

Incremental updates written by many tools use them even over a file with classic tables, so the strict revision
reader must read them to say what such an update changed. Anything else (other filters, indirect lengths, a
stream that inflates beyond reason) is refused with the reason.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from esign.verify.pdfsyntax import Name, PdfDict, PdfSyntaxError, Reader

#: The most an xref stream may inflate to (a million entries of 8 bytes; ours have none).
MAX_INFLATED = 8 * 1024 * 1024


class XrefStreamError(Exception):
    def __init__(self, what: str, offset: int) -> None:
        super().__init__(f"{what} at byte {offset}")
        self.offset = offset


@dataclass(frozen=True, slots=True)
class Entry:
    number: int
    kind: int  # 0 free, 1 in use at ``field2`` (offset), 2 inside object stream ``field2``
    field2: int
    field3: int


def read_xref_stream(reader: Reader, offset: int) -> tuple[PdfDict, list[Entry], int]:
    """The stream's dictionary (its trailer), its entries, and the offset just after ``endobj``."""
    data = reader.data
    try:
        _, _, pos = reader.object_header(offset)
        head, pos = reader.dictionary(pos)
        pos = reader.expect(pos, b"stream")
    except PdfSyntaxError as exc:
        raise XrefStreamError(f"not an xref stream ({exc.what})", exc.offset) from exc
    if head.get(b"Type") != Name(b"XRef"):
        raise XrefStreamError("not an xref stream (/Type is not /XRef)", offset)
    pos += 2 if data.startswith(b"\r\n", pos) else 1 if data[pos:pos + 1] == b"\n" else 0
    length = head.get(b"Length")
    if not _count(length) or pos + length > len(data):  # type: ignore[operator]
        raise XrefStreamError("its /Length is not a direct length inside the file", offset)
    raw = data[pos:pos + length]  # type: ignore[operator]
    try:
        end = reader.expect(reader.expect(pos + length, b"endstream"), b"endobj")  # type: ignore[operator]
    except PdfSyntaxError as exc:
        raise XrefStreamError("no endstream/endobj after the stream", exc.offset) from exc
    rows = _decode(head, raw, offset)
    return head, _entries(head, rows, offset), end


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _decode(head: PdfDict, raw: bytes, offset: int) -> bytes:
    filters = head.get(b"Filter")
    if isinstance(filters, list) and len(filters) == 1:
        filters = filters[0]
    if filters is None:
        inflated = raw
    elif filters == Name(b"FlateDecode"):
        inflater = zlib.decompressobj()
        try:
            inflated = inflater.decompress(raw, MAX_INFLATED)
        except zlib.error as exc:
            raise XrefStreamError("its Flate data is corrupt", offset) from exc
        if inflater.unconsumed_tail:
            raise XrefStreamError("it inflates beyond the limit", offset)
    else:
        raise XrefStreamError("it uses a filter other than FlateDecode", offset)
    params = head.get(b"DecodeParms")
    if isinstance(params, list) and len(params) == 1:
        params = params[0]
    predictor = params.get(b"Predictor") if isinstance(params, PdfDict) else None
    if predictor in (None, 1):
        return inflated
    columns = params.get(b"Columns") if isinstance(params, PdfDict) else None
    if not isinstance(predictor, int) or not 10 <= predictor <= 15 or not _count(columns) or not columns:
        raise XrefStreamError("it uses a predictor other than PNG", offset)
    assert isinstance(columns, int)
    return _unpredict(inflated, columns, offset)


def _unpredict(data: bytes, columns: int, offset: int) -> bytes:
    """Undo PNG row filters (RFC 2083 §6; one byte per pixel, as xref streams use)."""
    width = columns + 1
    if len(data) % width:
        raise XrefStreamError("its rows do not fill the predictor's columns", offset)
    out = bytearray()
    previous = bytearray(columns)
    for start in range(0, len(data), width):
        kind, row = data[start], bytearray(data[start + 1:start + width])
        for i in range(columns):
            left = row[i - 1] if i else 0
            up, corner = previous[i], previous[i - 1] if i else 0
            if kind == 1:
                row[i] = (row[i] + left) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + up) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - corner
                near = min((abs(estimate - left), 0, left), (abs(estimate - up), 1, up),
                           (abs(estimate - corner), 2, corner))
                row[i] = (row[i] + near[2]) & 0xFF
            elif kind != 0:
                raise XrefStreamError(f"unknown PNG filter type {kind}", offset)
        out += row
        previous = row
    return bytes(out)


def _entries(head: PdfDict, rows: bytes, offset: int) -> list[Entry]:
    widths, size, index = head.get(b"W"), head.get(b"Size"), head.get(b"Index")
    if not (isinstance(widths, list) and len(widths) == 3 and all(_count(w) and w <= 8 for w in widths)):
        raise XrefStreamError("its /W is not three small widths", offset)
    if not _count(size):
        raise XrefStreamError("its /Size is not a count", offset)
    index = [0, size] if index is None else index
    if not (isinstance(index, list) and len(index) % 2 == 0 and all(_count(v) for v in index)):
        raise XrefStreamError("its /Index is not pairs of counts", offset)
    w1, w2, w3 = widths
    step = w1 + w2 + w3
    if step == 0 or len(rows) != step * sum(index[1::2]):
        raise XrefStreamError("its data does not match /W and /Index", offset)
    entries: list[Entry] = []
    pos = 0
    for first, count in zip(index[0::2], index[1::2], strict=True):
        for number in range(first, first + count):
            kind = int.from_bytes(rows[pos:pos + w1], "big") if w1 else 1
            field2 = int.from_bytes(rows[pos + w1:pos + w1 + w2], "big")
            field3 = int.from_bytes(rows[pos + w1 + w2:pos + step], "big")
            entries.append(Entry(number, kind, field2, field3))
            pos += step
    return entries
