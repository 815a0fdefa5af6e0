"""Every way of tampering with a completed document must come out ``altered``; foreign files ``unknown``."""

from __future__ import annotations

import io
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject
from reportlab.pdfgen.canvas import Canvas

from esign.config import Settings
from esign.signing import PdfSealer, init_keys, load_identity
from esign.verify import ALTERED, AUTHENTIC, UNKNOWN, verify_pdf
from esign.workspace import Workspace


def _verify(ws: Workspace, data: bytes):  # type: ignore[no-untyped-def]
    return verify_pdf(data, ws.ledger, ws.trust_roots)


def _overlay(text: str):  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    canvas = Canvas(buf)
    canvas.drawString(100, 400, text)
    canvas.save()
    return PdfReader(io.BytesIO(buf.getvalue())).pages[0]


def _rewrite(data: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_completed_document_is_authentic(core_ws: Workspace, completed: tuple[str, Path]) -> None:
    doc_id, path = completed
    result = _verify(core_ws, path.read_bytes())
    assert result.status == AUTHENTIC, result.reasons
    assert result.document_id == doc_id and result.version == "final" and result.stage == "completed"
    assert len(result.signatures) == 1
    sig = result.signatures[0]
    assert sig.intact and sig.valid and sig.trusted and sig.covers_entire_file
    assert "Helena Duarte Vasconcelos" in sig.signer


def test_company_signed_version_is_authentic_but_says_so(core_ws: Workspace, completed: tuple[str, Path]) -> None:
    doc_id, _ = completed
    result = _verify(core_ws, core_ws.version_path("company_signed", doc_id).read_bytes())
    assert result.status == AUTHENTIC and result.version == "company_signed"
    assert any("before the client signed" in r for r in result.reasons)


def test_external_validators_accept_the_final_file(completed: tuple[str, Path]) -> None:
    _, path = completed
    pdfsig = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False)
    assert "Signature Validation: Signature is Valid." in pdfsig.stdout, pdfsig.stdout + pdfsig.stderr
    assert "Total document signed" in pdfsig.stdout
    qpdf = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True, check=False)
    assert qpdf.returncode == 0, qpdf.stdout + qpdf.stderr


def _flip_byte_in_stream(data: bytes) -> bytes:
    start = data.index(b"stream", data.index(b"/Contents")) + 40
    return data[:start] + bytes([data[start] ^ 0x55]) + data[start + 1:]


def _edit_text(data: bytes) -> bytes:
    def change(writer: PdfWriter) -> None:
        writer.pages[0].merge_page(_overlay("R$ 1,00"))
    return _rewrite(data, change)


def _incremental_page_change(data: bytes) -> bytes:
    writer = PdfWriter(io.BytesIO(data), incremental=True)
    writer.pages[0].merge_page(_overlay("Valor alterado"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _remove_page(data: bytes) -> bytes:
    return _rewrite(data, lambda w: w.remove_page(0))


def _reorder_pages(data: bytes) -> bytes:
    reader = PdfReader(io.BytesIO(data))
    writer = PdfWriter()
    for page in reversed(reader.pages):
        writer.add_page(page)
    writer.add_metadata({k: v for k, v in (reader.metadata or {}).items() if isinstance(v, str)})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _strip_signature(data: bytes) -> bytes:
    def change(writer: PdfWriter) -> None:
        writer._root_object.pop(NameObject("/AcroForm"), None)
        for page in writer.pages:
            page.pop(NameObject("/Annots"), None)
    return _rewrite(data, change)


def _truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


CASES = {
    "one byte of a content stream": _flip_byte_in_stream,
    "text edited with pypdf and re-saved": _edit_text,
    "incremental update changing a page": _incremental_page_change,
    "a page removed": _remove_page,
    "pages reordered": _reorder_pages,
    "signature stripped": _strip_signature,
    "file truncated": _truncate,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tampering_is_caught(core_ws: Workspace, completed: tuple[str, Path], case: str) -> None:
    doc_id, path = completed
    tampered = CASES[case](path.read_bytes())
    result = _verify(core_ws, tampered)
    assert result.status == ALTERED, (case, result.reasons)
    assert result.document_id == doc_id
    assert any(doc_id in r for r in result.reasons)


def test_replaced_certificate_page_is_caught(core_ws: Workspace, completed: tuple[str, Path],
                                             completed_other: tuple[str, Path]) -> None:
    doc_id, path = completed
    other = PdfReader(completed_other[1])

    def change(writer: PdfWriter) -> None:
        writer.remove_page(len(writer.pages) - 1)
        writer.add_page(other.pages[-1])
    result = _verify(core_ws, _rewrite(path.read_bytes(), change))
    assert result.status == ALTERED and result.document_id == doc_id


def test_modified_copy_signed_with_another_key_is_caught(
        core_ws: Workspace, completed: tuple[str, Path], tmp_path: Path) -> None:
    doc_id, path = completed
    init_keys(tmp_path, b"other-passphrase", company_name="Falsa Ltda.", director_name="Mallory",
              director_title="Diretor")
    sealer = PdfSealer(load_identity(tmp_path / "director.p12", b"other-passphrase"))
    modified = _edit_text(path.read_bytes())
    forged = sealer.sign(modified, "Forgery", reason="forged", location="nowhere", signer_name="Mallory",
                         signed_at=datetime(2026, 11, 28, tzinfo=UTC))
    result = _verify(core_ws, forged)
    assert result.status == ALTERED and result.document_id == doc_id
    assert any("not trusted" in r for r in result.reasons)


def test_non_pdf_is_unknown(core_ws: Workspace) -> None:
    result = _verify(core_ws, b"hello, I am not a PDF\n" * 10)
    assert result.status == UNKNOWN and result.reasons == ["not a PDF file"]
    assert _verify(core_ws, b"").status == UNKNOWN


def test_pdf_never_issued_here_is_unknown(core_ws: Workspace) -> None:
    buf = io.BytesIO()
    canvas = Canvas(buf)
    canvas.drawString(72, 720, "Contrato qualquer DOC-0000000000000000")
    canvas.save()
    result = _verify(core_ws, buf.getvalue())
    assert result.status == UNKNOWN
    assert result.signatures == []


def test_offline_verdict_uses_signatures_only(core_ws: Workspace, completed: tuple[str, Path]) -> None:
    _, path = completed
    assert verify_pdf(path.read_bytes(), None, core_ws.trust_roots).status == AUTHENTIC
    assert verify_pdf(_incremental_page_change(path.read_bytes()), None, core_ws.trust_roots).status == ALTERED
    assert verify_pdf(path.read_bytes(), None, []).status == ALTERED  # nobody trusted


def test_cli_exit_codes_and_json(core_settings: Settings, completed: tuple[str, Path], tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from esign.cli import main
    from esign.workspace import reset_workspaces

    monkeypatch.setenv("ESIGN_HOME", str(core_settings.workdir))
    monkeypatch.chdir(core_settings.templates_dir.parent)
    reset_workspaces()
    doc_id, path = completed
    assert main(["verify", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "authentic" and out["document_id"] == doc_id
    assert {"status", "document_id", "sha256", "signatures"} <= set(out)
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(_truncate(path.read_bytes()))
    assert main(["verify", str(bad)]) == 1
    assert "ALTERED" in capsys.readouterr().out
    assert main(["verify", str(tmp_path / "missing.pdf")]) == 2
    assert "cannot read" in capsys.readouterr().err
    reset_workspaces()


def test_pdfsig_second_opinion(completed: tuple[str, Path], tmp_path: Path) -> None:
    from esign.verify.poppler import pdfsig_problem

    _, path = completed
    assert pdfsig_problem(path) is None
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(_incremental_page_change(path.read_bytes()))
    problem = pdfsig_problem(changed)
    assert problem is not None and "Signature" in problem
