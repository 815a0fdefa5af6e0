"""A faster reader for PDF hex strings inside pyHanko (the ``<...>`` of a signature's /Contents).

pyHanko reads a hex string one byte at a time in Python: ~10 ms for the 8-16 kB ``/Contents`` of every signature
it validates or whose dictionary it opens, as much as the rest of the validation. The reader installed here
finds the closing ``>`` with ``bytes.find`` and decodes with ``binascii``. It only takes the fast path for
the plain case (hex digits and PDF whitespace): anything else (a comment, a stray character, a truncated file)
is handed to pyHanko's own reader from the same position, so errors and odd inputs behave exactly as before.
"""

from __future__ import annotations

import binascii
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PDF_WHITESPACE
from pyhanko.version import __version__ as _pyhanko_version

#: The pyHanko release whose reader this replaces (checked: another version keeps its own reader).
_PYHANKO_VERSION = "0.38.0"
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_CHUNK = 8192
_original: Any = generic.read_hex_string_from_stream


def read_hex_string(stream: Any) -> Any:
    """Same contract as ``pyhanko.pdf_utils.generic.read_hex_string_from_stream`` (stream at the ``<``)."""
    opening = stream.tell()
    stream.read(1)
    body = bytearray()
    while True:
        chunk = stream.read(_CHUNK)
        end = chunk.find(b">")
        if end >= 0:
            body += chunk[:end]
            break
        if not chunk:  # truncated: pyHanko's reader raises its own error
            stream.seek(opening)
            return _original(stream)
        body += chunk
    digits = bytes(body).translate(None, PDF_WHITESPACE)
    if digits.translate(None, _HEX_DIGITS):  # a comment or a stray byte: the careful reader decides
        stream.seek(opening)
        return _original(stream)
    stream.seek(opening + 1 + len(body) + 1)  # just after the ">", as pyHanko's reader leaves it
    if len(digits) % 2:
        digits += b"0"
    return generic.pdf_string(binascii.unhexlify(digits))


def install() -> bool:
    """Use the fast reader in pyHanko's parser (idempotent); False when the pyHanko version is not the known one."""
    if _pyhanko_version != _PYHANKO_VERSION:
        return False
    generic.read_hex_string_from_stream = read_hex_string
    return True
