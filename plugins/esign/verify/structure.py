"""Our own check of where each signature sits in the file (ISO 32000-2 §12.8.1, ETSI EN 319 142-1 §5.x).

pyHanko decides that a signature "covers the entire file" from a sum (first range + second range + the size
of /Contents equals the file size) and never checks that the unsigned gap is where /Contents sits, nor that the
signature dictionary it read is the one written in the revision it signs. A later update can therefore redefine
the dictionary (same /ByteRange, same CMS, /Contents re-written as a padded literal) and add content, and still
be reported as covering the file. This check reads the revisions itself (:mod:`esign.verify.revisions`) and,
for each signature, requires:

* /ByteRange is ``[0 a b c]`` with four non-negative integers, ``a < b``, ``b + c`` inside the file;
* ``b + c`` is the end of a revision (the signed revision), and the signature dictionary in force is the one
  defined in that revision, never redefined or freed by a later one;
* the gap ``[a, b)`` is exactly the hex string that is that dictionary's /Contents, as written there;
* /Contents is one DER signature followed by zero padding, hex in upper case as signers write it (so neither the
  padding nor the letter case can change without the change being seen);
* no key of the dictionary appears twice.

Whether the signed revision is the last one, with nothing after it, is reported too; the verdict requires it of
the seal.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass

from esign.verify.pdfsyntax import PdfDict, PdfString, PdfSyntaxError, Reader, Ref
from esign.verify.reasons import Reason, reason
from esign.verify.revisions import IN_OBJECT_STREAM, Revisions

_UPPER_HEX = re.compile(rb"(?:[0-9A-F]{2})*")


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one signature sits: the revision it signs, how many follow it, and what is wrong."""

    revision: int | None
    revisions_after: int  # revisions added after the signed one (None revision: unknown, 0)
    problems: tuple[Reason, ...]

    @property
    def sound(self) -> bool:
        return not self.problems

    @property
    def covers_to_end(self) -> bool:
        """Sound, and the signed revision is the file's last with nothing after it."""
        return self.sound and self.revision is not None and self.revisions_after == 0


def place_signature(data: bytes, revisions: Revisions, field: str, ref: Ref) -> Placement:
    """Check the signature whose dictionary is object ``ref`` (the field's /V)."""
    definitions = revisions.definitions(ref.num)
    if not definitions or definitions[-1][1] is None:
        return Placement(None, 0, (reason("signature_dict_missing", field=field),))
    current_revision, offset = definitions[-1]
    assert offset is not None
    if offset == IN_OBJECT_STREAM:  # /Contents must sit at a byte range of the file itself
        return Placement(None, 0, (reason("signature_dict_unreadable", field=field, detail="in an object stream"),))
    try:
        _, _, after_header = Reader(data).object_header(offset)
        sig, _ = Reader(data).dictionary(after_header)
    except PdfSyntaxError as exc:
        return Placement(None, 0, (reason("signature_dict_unreadable", field=field, detail=str(exc)),))
    problems: list[Reason] = [reason("duplicate_key", field=field, key=k.decode("latin-1")) for k in sig.duplicates]
    byte_range = _byte_range(sig, len(data))
    if byte_range is None:
        return Placement(None, 0, (*problems, reason("byte_range_malformed", field=field)))
    _, first_len, second_start, second_len = byte_range
    signed = revisions.ending_at(second_start + second_len)
    if signed is None:
        return Placement(None, 0, (*problems, reason("byte_range_not_at_revision_end", field=field)))
    after = len(revisions.revisions) - 1 - signed.index
    if current_revision.index > signed.index:
        problems.append(reason("signature_dict_redefined", field=field))
    elif current_revision.index < signed.index:
        problems.append(reason("signature_dict_not_in_signed_revision", field=field))
    problems.extend(_contents_problems(sig, field, first_len, second_start))
    if after:
        problems.append(reason("content_after_signature", field=field, count=after))
    return Placement(signed.index, after, tuple(problems))


def _byte_range(sig: PdfDict, size: int) -> tuple[int, int, int, int] | None:
    value = sig.get(b"ByteRange")
    if not isinstance(value, list) or len(value) != 4:
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return None
    start, first_len, second_start, second_len = value
    if start != 0 or first_len <= 0 or second_start <= first_len or second_len < 0:
        return None
    if second_start + second_len > size:
        return None
    return start, first_len, second_start, second_len


def _contents_problems(sig: PdfDict, field: str, gap_start: int, gap_end: int) -> list[Reason]:
    contents = sig.get(b"Contents")
    if not isinstance(contents, PdfString) or not contents.hex:
        return [reason("contents_not_hex_string", field=field)]
    if (contents.start, contents.end) != (gap_start, gap_end):
        return [reason("gap_not_contents", field=field)]
    if not _UPPER_HEX.fullmatch(contents.raw):
        return [reason("contents_not_canonical", field=field)]
    raw = binascii.unhexlify(contents.raw)
    length = _der_length(raw)
    if length is None or length > len(raw):
        return [reason("contents_malformed", field=field)]
    if raw[length:].strip(b"\0"):
        return [reason("contents_padding_altered", field=field)]
    return []


def _der_length(raw: bytes) -> int | None:
    """The total length of the DER SEQUENCE at the start of ``raw`` (definite lengths only), or None."""
    if len(raw) < 2 or raw[0] != 0x30:
        return None
    first = raw[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 4 or len(raw) < 2 + count:
        return None
    return 2 + count + int.from_bytes(raw[2:2 + count], "big")
