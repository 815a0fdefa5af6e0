"""A small, strict reader of PDF objects at a byte offset (ISO 32000-2 §7.2-7.3), keeping where each value sits.

The structural check needs what a general parser hides: the exact byte span of a signature dictionary's
/Contents, whether a key appears twice, and what an xref table or trailer says, read the way the file is written
rather than repaired. Anything unexpected raises :class:`PdfSyntaxError`; nothing here guesses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

WHITESPACE = b"\x00\t\n\x0c\r "
DELIMITERS = b"()<>[]{}/%"
#: Nesting allowed inside one object (signature dictionaries and trailers nest two or three levels).
MAX_DEPTH = 32

_NUMBER = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)")
_REGULAR = re.compile(rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]+")
_INT = re.compile(rb"\d+")


class PdfSyntaxError(Exception):
    """The bytes at ``offset`` are not the PDF syntax expected there."""

    def __init__(self, what: str, offset: int) -> None:
        super().__init__(f"{what} at byte {offset}")
        self.what = what
        self.offset = offset


@dataclass(frozen=True, slots=True)
class Ref:
    num: int
    gen: int


@dataclass(frozen=True, slots=True)
class Name:
    value: bytes


@dataclass(frozen=True, slots=True)
class PdfString:
    raw: bytes  # the bytes between the delimiters, as written
    hex: bool
    start: int  # offset of "<" or "("
    end: int  # offset just after ">" or ")"


@dataclass(slots=True)
class PdfDict:
    entries: dict[bytes, object] = field(default_factory=dict)
    spans: dict[bytes, tuple[int, int]] = field(default_factory=dict)  # value spans
    duplicates: list[bytes] = field(default_factory=list)
    start: int = 0
    end: int = 0

    def get(self, key: bytes) -> object:
        return self.entries.get(key)


@dataclass(frozen=True, slots=True)
class Keyword:
    value: bytes


class Reader:
    """Reads objects from ``data``; every method takes and returns absolute offsets."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def skip(self, pos: int) -> int:
        """Past whitespace and comments."""
        data, n = self.data, len(self.data)
        while pos < n:
            byte = data[pos]
            if byte in WHITESPACE:
                pos += 1
            elif byte == 0x25:  # "%": a comment runs to the end of the line
                while pos < n and data[pos] not in b"\r\n":
                    pos += 1
            else:
                break
        return pos

    def expect(self, pos: int, token: bytes) -> int:
        """The offset after ``token`` (after whitespace), or a problem naming it."""
        pos = self.skip(pos)
        if not self.data.startswith(token, pos):
            raise PdfSyntaxError(f"expected {token.decode('ascii')}", pos)
        end = pos + len(token)
        if token[-1:].isalpha() and end < len(self.data) and self.data[end] not in WHITESPACE + DELIMITERS:
            raise PdfSyntaxError(f"expected {token.decode('ascii')}", pos)
        return end

    def integer(self, pos: int) -> tuple[int, int]:
        pos = self.skip(pos)
        match = _INT.match(self.data, pos)
        if match is None or len(match.group()) > 12:
            raise PdfSyntaxError("expected a non-negative integer", pos)
        return int(match.group()), match.end()

    def object_header(self, pos: int) -> tuple[int, int, int]:
        """``N G obj`` at exactly ``pos``: (number, generation, offset after "obj")."""
        if pos >= len(self.data) or not self.data[pos:pos + 1].isdigit():
            raise PdfSyntaxError("expected an object header", pos)
        num, pos = self.integer(pos)
        gen, pos = self.integer(pos)
        return num, gen, self.expect(pos, b"obj")

    def value(self, pos: int, depth: int = 0) -> tuple[object, int]:
        """One value starting at ``pos`` (after whitespace): (value, offset just after it)."""
        if depth > MAX_DEPTH:
            raise PdfSyntaxError("objects nested too deeply", pos)
        data = self.data
        pos = self.skip(pos)
        if pos >= len(data):
            raise PdfSyntaxError("unexpected end of file", pos)
        byte = data[pos]
        if data.startswith(b"<<", pos):
            return self.dictionary(pos, depth)
        if byte == 0x3C:  # "<"
            return self._hex_string(pos)
        if byte == 0x28:  # "("
            return self._literal_string(pos)
        if byte == 0x2F:  # "/"
            match = _REGULAR.match(data, pos + 1)
            return Name(match.group() if match else b""), match.end() if match else pos + 1
        if byte == 0x5B:  # "["
            return self._array(pos, depth)
        number = _NUMBER.match(data, pos)
        if number is not None:
            return self._number_or_ref(number, pos)
        word = _REGULAR.match(data, pos)
        if word is None:
            raise PdfSyntaxError(f"unexpected byte 0x{byte:02x}", pos)
        return Keyword(word.group()), word.end()

    def dictionary(self, pos: int, depth: int = 0) -> tuple[PdfDict, int]:
        pos = self.skip(pos)
        if not self.data.startswith(b"<<", pos):
            raise PdfSyntaxError("expected a dictionary", pos)
        result = PdfDict(start=pos)
        pos += 2
        while True:
            pos = self.skip(pos)
            if self.data.startswith(b">>", pos):
                result.end = pos + 2
                return result, pos + 2
            key, pos = self.value(pos, depth + 1)
            if not isinstance(key, Name):
                raise PdfSyntaxError("a dictionary key must be a name", pos)
            value_start = self.skip(pos)
            value, pos = self.value(pos, depth + 1)
            if key.value in result.entries:
                result.duplicates.append(key.value)
            result.entries[key.value] = value
            result.spans[key.value] = (value_start, pos)

    def _array(self, pos: int, depth: int) -> tuple[list[object], int]:
        pos += 1
        items: list[object] = []
        while True:
            pos = self.skip(pos)
            if pos >= len(self.data):
                raise PdfSyntaxError("unterminated array", pos)
            if self.data[pos] == 0x5D:  # "]"
                return items, pos + 1
            item, pos = self.value(pos, depth + 1)
            items.append(item)

    def _number_or_ref(self, number: re.Match[bytes], pos: int) -> tuple[object, int]:
        text = number.group()
        if not text.isdigit():
            return float(text), number.end()
        after = self.skip(number.end())
        gen = _INT.match(self.data, after)
        if gen is not None:
            r_pos = self.skip(gen.end())
            if self.data.startswith(b"R", r_pos) and (r_pos + 1 >= len(self.data)
                                                       or self.data[r_pos + 1] in WHITESPACE + DELIMITERS):
                return Ref(int(text), int(gen.group())), r_pos + 1
        return int(text), number.end()

    def _hex_string(self, pos: int) -> tuple[PdfString, int]:
        end = self.data.find(b">", pos + 1)
        if end < 0:
            raise PdfSyntaxError("unterminated hex string", pos)
        return PdfString(self.data[pos + 1:end], True, pos, end + 1), end + 1

    def _literal_string(self, pos: int) -> tuple[PdfString, int]:
        data, depth, i = self.data, 1, pos + 1
        while i < len(data):
            byte = data[i]
            if byte == 0x5C:  # backslash: the next byte is escaped
                i += 2
                continue
            if byte == 0x28:
                depth += 1
            elif byte == 0x29:
                depth -= 1
                if depth == 0:
                    return PdfString(data[pos + 1:i], False, pos, i + 1), i + 1
            i += 1
        raise PdfSyntaxError("unterminated literal string", pos)
