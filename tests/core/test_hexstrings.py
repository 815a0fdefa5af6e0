"""The fast hex-string reader gives pyHanko's result, leaves the stream where pyHanko's does, and defers to it
for anything unusual (comments, stray bytes, truncation), errors included."""

from __future__ import annotations

import io
import random

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfStreamError

from esign.core import hexstrings

ORIGINAL = hexstrings._original


def _cases() -> list[bytes]:
    rng = random.Random(5)
    cases = [b"<>", b"<0>", b"<ab>", b"<ABC>", b"< 4 1\n4\r2\t>", b"<00ff>", b"<feff00410042>",
             b"<41 % a comment > still\n42>", b"<4g>", b"<41", b"<", b"<41>>", b"<4\x0c1\x002>"]
    for size in (1, 7, 100, 8191, 8192, 8193, 20000):
        digits = bytes(rng.choice(b"0123456789abcdefABCDEF") for _ in range(size))
        cases.append(b"<" + digits + b">")
        cases.append(b"<" + b"\n".join(digits[i:i + 64] for i in range(0, size, 64)) + b">")
    return cases


def _read(reader: object, data: bytes) -> tuple[object, int]:
    stream = io.BytesIO(data + b" /Next 1")
    try:
        value = reader(stream)  # type: ignore[operator]
    except PdfStreamError as exc:
        return ("error", str(exc)), stream.tell()
    return (type(value), bytes(value.original_bytes) if hasattr(value, "original_bytes") else bytes(value)), \
        stream.tell()


@pytest.mark.parametrize("data", _cases(), ids=lambda d: repr(d[:12]))
def test_same_value_and_position_as_pyhanko(data: bytes) -> None:
    ours, theirs = _read(hexstrings.read_hex_string, data), _read(ORIGINAL, data)
    if theirs[0][0] == "error":
        assert ours[0] == theirs[0]
    else:
        assert ours == theirs


def test_installed_in_pyhankos_parser() -> None:
    assert hexstrings.install()
    assert generic.read_hex_string_from_stream is hexstrings.read_hex_string
    parsed = generic.read_object(io.BytesIO(b"<< /Contents <0a0B0c> >>"), generic.TrailerReference(None))
    assert parsed["/Contents"] == generic.ByteStringObject(b"\n\x0b\x0c")
