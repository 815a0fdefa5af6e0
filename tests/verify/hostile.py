"""Hand-written PDFs for hostile-input tests: numbered objects, an optional classic xref table, a trailer."""

from __future__ import annotations

import io


def pdf_bytes(objects: list[tuple[int, bytes]], *, xref: bool = True, trailer: bytes = b"") -> bytes:
    """A hand-written PDF: numbered objects, an optional classic xref table, a trailer pointing at object 1."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = {}
    for number, body in objects:
        offsets[number] = out.tell()
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    start = out.tell()
    size = max(offsets) + 1
    if xref:
        out.write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
        out.writelines(b"%010d 00000 n \n" % offsets.get(i, 0) for i in range(1, size))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (size, trailer, start))
    return out.getvalue()


CATALOG = (1, b"<< /Type /Catalog /Pages 2 0 R >>")
NO_PAGES = (2, b"<< /Type /Pages /Kids [] /Count 0 >>")
