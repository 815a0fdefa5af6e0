"""Hostile files through ``verify_pdf``, the sandbox and ``POST /verify``: always a verdict with a reason, never
a crash, never more than the time and memory the sandbox allows.

Truncated and bit-flipped copies of a real completed document, random bytes behind a PDF header, encrypted
files, more signatures than MAX_SIGNATURES, broken xref tables, cyclic and deeply nested objects, files over
the size and object-count limits (refused unread, with the reason), and files built to make the parser spend
(one huge array, a dictionary with a million keys) which the sandbox stops.
"""

from __future__ import annotations

import io
import secrets
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from esign.portal.app import create_app
from esign.portal.services import PortalServices, PortalSettings
from esign.requests import SigningRequests
from esign.verify import ALTERED, AUTHENTIC, INCOMPLETE, UNKNOWN, VerificationResult, verify_pdf, verify_untrusted
from esign.verify.reasons import MESSAGES
from esign.verify.sandbox import Sandbox
from esign.verify.signatures import MAX_SIGNATURES
from esign.verify.verifier import MAX_OBJECTS, MAX_PDF_BYTES
from esign.workspace import Workspace
from tests.support import complete_document, make_deal
from tests.verify.hostile import CATALOG as _CATALOG
from tests.verify.hostile import NO_PAGES as _NO_PAGES
from tests.verify.hostile import pdf_bytes

FUZZ = settings(derandomize=True, deadline=None, max_examples=25,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@dataclass(frozen=True)
class Completed:
    ws: Workspace
    document_id: str
    data: bytes


@pytest.fixture(scope="module")
def completed(core_ws: Workspace) -> Completed:
    doc_id = complete_document(core_ws, make_deal("fuzz-9301"))
    return Completed(core_ws, doc_id, core_ws.version_path("final", doc_id).read_bytes())


def _verdict(ws: Workspace, data: bytes) -> VerificationResult:
    result = verify_pdf(data, ws.ledger, ws.trust_roots)
    assert result.status in (AUTHENTIC, INCOMPLETE, ALTERED, UNKNOWN)
    assert result.reasons, "every verdict says why"
    assert all(r.code in MESSAGES and r.english() for r in result.reasons)
    return result


def _codes(result: VerificationResult) -> list[str]:
    return [r.code for r in result.reasons]


HOSTILE: dict[str, bytes] = {
    "cyclic page tree": pdf_bytes([_CATALOG, (2, b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>")]),
    "page that is its own parent and content": pdf_bytes([
        _CATALOG, (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        (3, b"<< /Type /Page /Parent 3 0 R /Kids [2 0 R] /Resources 3 0 R /Contents 3 0 R >>")]),
    "self-referencing signature field": pdf_bytes([
        (1, b"<< /Type /Catalog /Pages 2 0 R /AcroForm 3 0 R >>"), _NO_PAGES, (3, b"<< /Fields [4 0 R] >>"),
        (4, b"<< /FT /Sig /Kids [4 0 R] /V 4 0 R /Parent 4 0 R >>")]),
    "deeply nested arrays": pdf_bytes([(1, b"<< /Type /Catalog /Pages 2 0 R /X " + b"[" * 100_000
                                        + b"]" * 100_000 + b" >>"), _NO_PAGES]),
    "deeply nested dictionaries": pdf_bytes([(1, b"<< /Type /Catalog /Pages 2 0 R /X " + b"<< /A " * 20_000
                                              + b"1" + b" >>" * 20_000 + b" >>"), _NO_PAGES]),
    "xref pointing past the end": pdf_bytes([_CATALOG, _NO_PAGES]).replace(b"00000 n \n", b"00000 n \n", 1)
                                  .replace(b"0000000009 00000 n", b"0000999999 00000 n"),
    "no xref table": pdf_bytes([_CATALOG, _NO_PAGES], xref=False),
    "garbage xref entries": pdf_bytes([_CATALOG, _NO_PAGES]).replace(b" 00000 n ", b" zzzzz q "),
    "startxref to nowhere": b"%PDF-1.4\nstartxref\n999999999999\n%%EOF",
    "trailer /Prev loop": pdf_bytes([_CATALOG, _NO_PAGES], trailer=b"/Prev 9 "),
    "trailer /Root to a missing object": pdf_bytes([(3, b"<< /Type /Catalog >>")]),
    "header only": b"%PDF-1.7\n",
    "header and junk": b"%PDF-1.7\n" + bytes(range(256)) * 8,
    "broken signature dictionary": pdf_bytes([
        (1, b"<< /Type /Catalog /Pages 2 0 R /AcroForm 3 0 R >>"), _NO_PAGES, (3, b"<< /Fields [4 0 R] >>"),
        (4, b"<< /FT /Sig /T (s) /V << /Type /Sig /ByteRange [0 -5 99999999 7] /Contents <zz> >> >>")]),
    "decompression bomb page": pdf_bytes([
        _CATALOG, (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        (3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 600 800] /Contents 4 0 R >>"),
        (4, b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (
            len(bomb := zlib.compress(b"\0" * (64 << 20), 9)), bomb))]),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hand_written_hostile_files_get_a_verdict(completed: Completed, name: str) -> None:
    result = _verdict(completed.ws, HOSTILE[name])
    assert result.status == UNKNOWN, (name, result.reasons)


def test_non_pdf_files_are_unknown(completed: Completed) -> None:
    for data in (b"", b"PK\x03\x04zip", b"\x89PNG\r\n\x1a\n", "texto ção".encode(), b"\0" * 4096):
        result = _verdict(completed.ws, data)
        assert result.status == UNKNOWN and _codes(result) == ["not_pdf"]


@FUZZ
@given(cut=st.integers(min_value=0, max_value=10**9))
def test_truncated_copies_are_never_authentic(completed: Completed, cut: int) -> None:
    data = completed.data[: cut % len(completed.data)]
    result = _verdict(completed.ws, data)
    assert result.status != AUTHENTIC
    if result.document_id is not None:  # the raw bytes still name the document: it is ours, changed
        assert result.document_id == completed.document_id


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=7)),
                      min_size=1, max_size=8))
def test_bit_flipped_copies_are_never_authentic(completed: Completed, flips: list[tuple[int, int]]) -> None:
    data = bytearray(completed.data)
    for position, bit in flips:
        data[position % len(data)] ^= 1 << bit
    if bytes(data) == completed.data:  # two flips cancelled out
        return
    result = _verdict(completed.ws, bytes(data))
    assert result.status != AUTHENTIC
    if result.status == ALTERED:
        assert _codes(result)[0] in ("hash_mismatch", "signed_not_issued")


@FUZZ
@given(junk=st.binary(max_size=4096), at=st.integers(min_value=0, max_value=1023))
def test_random_bytes_behind_a_pdf_header(completed: Completed, junk: bytes, at: int) -> None:
    data = junk[:at] + b"%PDF-1.7\n" + junk[at:]
    assert _verdict(completed.ws, data).status == UNKNOWN


@FUZZ
@given(chunk=st.integers(min_value=0, max_value=10**9), size=st.integers(min_value=1, max_value=4096),
       junk=st.binary(min_size=1, max_size=64))
def test_spliced_chunks_are_never_authentic(completed: Completed, chunk: int, size: int, junk: bytes) -> None:
    start = chunk % len(completed.data)
    data = completed.data[:start] + junk + completed.data[start + size:]
    if data != completed.data:
        assert _verdict(completed.ws, data).status != AUTHENTIC


def test_an_encrypted_copy_gets_a_verdict(completed: Completed) -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(completed.data)))
    writer.encrypt(user_password="", owner_password=secrets.token_hex(8), algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    result = _verdict(completed.ws, out.getvalue())
    assert result.status in (ALTERED, UNKNOWN)
    locked = PdfWriter(clone_from=PdfReader(io.BytesIO(completed.data)))
    locked.encrypt(user_password="segredo", algorithm="RC4-128")
    out = io.BytesIO()
    locked.write(out)
    assert _verdict(completed.ws, out.getvalue()).status in (ALTERED, UNKNOWN)


def test_more_signatures_than_the_limit_are_refused_unvalidated(completed: Completed) -> None:
    reader = PdfReader(io.BytesIO(completed.data))
    writer = PdfWriter(clone_from=reader)
    fields = writer._root_object["/AcroForm"]["/Fields"]
    value = next(f.get_object().raw_get("/V") for f in fields if f.get_object().get("/FT") == "/Sig")
    extra = ArrayObject()
    for n in range(MAX_SIGNATURES + 5):
        field = DictionaryObject({NameObject("/FT"): NameObject("/Sig"), NameObject("/T"): TextStringObject(f"x{n}"),
                                  NameObject("/V"): value})
        extra.append(writer._add_object(field))
    fields.extend(extra)
    out = io.BytesIO()
    writer.write(out)
    result = _verdict(completed.ws, out.getvalue())
    assert result.status != AUTHENTIC and result.signatures == [], result.reasons
    assert "too_many_signatures" in _codes(result)


def test_files_over_the_size_limit_are_refused_unread(completed: Completed) -> None:
    data = completed.data + b"%" + b"0" * (MAX_PDF_BYTES - len(completed.data))
    result = _verdict(completed.ws, data)
    assert result.status == UNKNOWN and _codes(result) == ["too_large"]


def test_files_with_too_many_objects_are_refused_unread(completed: Completed) -> None:
    many = pdf_bytes([_CATALOG, _NO_PAGES, *((n, b"null") for n in range(3, MAX_OBJECTS + 10))])
    result = _verdict(completed.ws, many)
    assert result.status == UNKNOWN and _codes(result) == ["too_many_objects"]
    claims = pdf_bytes([_CATALOG, _NO_PAGES]).replace(b"/Size 3", b"/Size 999999999")
    assert _codes(_verdict(completed.ws, claims)) == ["too_many_objects"]


#: Files small enough to pass the raw-byte limits but built to make a parser spend time and memory.
COSTLY: dict[str, bytes] = {
    "one huge array": pdf_bytes([(1, b"<< /Type /Catalog /Pages 2 0 R /X [" + b"1 " * (4 << 20) + b"] >>"),
                                 _NO_PAGES]),
    "a million keys": pdf_bytes([(1, b"<< /Type /Catalog /Pages 2 0 R " + b"".join(
        b"/K%d 1 " % i for i in range(1_000_000)) + b">>"), _NO_PAGES]),
    "a million names in an array": pdf_bytes([(1, b"<< /Type /Catalog /Pages 2 0 R /X [" + b"/N " * 1_000_000
                                               + b"] >>"), _NO_PAGES]),
}


@pytest.mark.parametrize("name", sorted(COSTLY))
def test_costly_files_are_stopped_by_the_sandbox(completed: Completed, name: str) -> None:
    """Small limits make the stop certain: the child is killed or runs out, and the verdict says why. One second:
    on an idle machine the million names take about two (the stop must not depend on how busy the machine is)."""
    sandbox = Sandbox(time_limit=1.0, memory_limit=256 * 1024 * 1024)
    result = verify_pdf(COSTLY[name], completed.ws.ledger, completed.ws.trust_roots, examiner=sandbox.examine)
    assert result.status == UNKNOWN and _codes(result) == ["too_complex"]
    assert sandbox.last is not None and sandbox.last.outcome in ("timeout", "memory", "crashed")


def test_the_sandbox_gives_the_same_verdict_as_in_process(completed: Completed) -> None:
    inside = verify_pdf(completed.data, completed.ws.ledger, completed.ws.trust_roots)
    sandboxed = verify_untrusted(completed.data, completed.ws.ledger, completed.ws.trust_roots)
    assert sandboxed.to_dict() == inside.to_dict() and sandboxed.status == AUTHENTIC


def test_our_documents_are_far_below_the_limits(completed: Completed) -> None:
    result = _verdict(completed.ws, completed.data)
    assert result.status == AUTHENTIC
    assert len(completed.data) < MAX_PDF_BYTES // 20
    assert completed.data.count(b" obj") < MAX_OBJECTS // 20


# -- the same through the public upload page ------------------------------------------------------------
@pytest.fixture(scope="module")
def upload(completed: Completed, tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    ws = completed.ws
    tmp = tmp_path_factory.mktemp("upload")
    settings_ = PortalSettings(public_url="http://testserver", documents_dir=tmp, cache_dir=tmp / "cache",
                               uploads_per_minute=10**6, max_upload_bytes=2 << 20)
    services = PortalServices(ledger=ws.ledger, requests=SigningRequests(ws.engine, ws.ledger, secrets.token_bytes(32)),
                              sender=None, settings=settings_, verify=verify_untrusted,  # type: ignore[arg-type]
                              trust_roots=tuple(ws.trust_roots))
    return TestClient(create_app(services), raise_server_exceptions=False)


def _post(client: TestClient, data: bytes) -> int:
    csrf = client.get("/verify").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    response = client.post("/verify", data={"csrf": csrf}, files={"file": ("x.pdf", data, "application/pdf")})
    assert "Algo deu errado" not in response.text and "Traceback" not in response.text
    return response.status_code


def test_upload_page_gives_a_verdict_on_every_hostile_file(upload: TestClient) -> None:
    for name, data in HOSTILE.items():
        assert _post(upload, data) == (200 if len(data) <= 2 << 20 else 413), name


@FUZZ
@given(flips=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=4),
       cut=st.integers(min_value=1, max_value=10**9))
def test_upload_page_survives_damaged_copies(upload: TestClient, completed: Completed, flips: list[int],
                                             cut: int) -> None:
    data = bytearray(completed.data[: max(2048, cut % len(completed.data))])
    for position in flips:
        data[position % len(data)] ^= 0xFF
    assert _post(upload, bytes(data)) in (200, 400)


def test_upload_over_the_limit_is_413(upload: TestClient, completed: Completed) -> None:
    assert _post(upload, completed.data + b"0" * (2 << 20)) == 413


def test_completed_file_via_upload_is_authentic(upload: TestClient, completed: Completed, tmp_path: Path) -> None:
    csrf = upload.get("/verify").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    page = upload.post("/verify", data={"csrf": csrf}, files={"file": ("x.pdf", completed.data, "application/pdf")})
    assert page.status_code == 200 and completed.document_id in page.text
