"""Every way of tampering with a completed document must come out ``altered``; foreign files ``unknown``."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject
from reportlab.pdfgen.canvas import Canvas

from esign.model import Stage
from esign.signing import PdfSealer, init_keys, load_identity
from esign.verify import ALTERED, AUTHENTIC, INCOMPLETE, UNKNOWN, verify_pdf
from esign.workspace import Workspace
from tests.support import make_deal


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
    assert result.status == AUTHENTIC and result.exit_code == 0, result.reason_texts()
    assert result.document_id == doc_id and result.version == "final" and result.stage == "completed"
    assert [r.code for r in result.reasons] == ["issued_final"]
    assert len(result.signatures) == 1
    sig = result.signatures[0]
    assert sig.intact and sig.valid and sig.trusted and sig.covers_entire_file and sig.certified
    assert sig.revision == 0 and sig.timestamp is not None and result.trusted_time == sig.timestamp
    assert sig.signer == "Helena Duarte Vasconcelos (Aurora Serviços Digitais Ltda.)"  # no English labels


def test_offline_verdict_says_what_it_could_not_check(core_ws: Workspace, completed: tuple[str, Path]) -> None:
    doc_id, path = completed
    result = verify_pdf(path.read_bytes(), None, core_ws.trust_roots)
    assert result.status == AUTHENTIC and result.offline and result.document_id == doc_id
    assert [r.code for r in result.reasons] == ["offline_seal_ok", "offline_no_ledger"]
    assert result.stage is None and result.version is None  # only the ledger knows these


def test_company_signed_version_is_incomplete_never_authentic(core_ws: Workspace,
                                                               completed: tuple[str, Path]) -> None:
    doc_id, _ = completed
    data = core_ws.version_path("company_signed", doc_id).read_bytes()
    result = _verify(core_ws, data)
    assert result.status == INCOMPLETE and result.exit_code == 3 and result.version == "company_signed"
    assert result.stage == "completed"
    assert [r.code for r in result.reasons] == ["intermediate_company_signed", "stage_completed_elsewhere"]
    offline = verify_pdf(data, None, core_ws.trust_roots)
    assert offline.status == INCOMPLETE and "intermediate_company_signed" in {r.code for r in offline.reasons}


def test_rendered_draft_is_incomplete_and_unknown_offline(core_ws: Workspace, completed: tuple[str, Path]) -> None:
    doc_id, _ = completed
    draft = core_ws.version_path("rendered", doc_id).read_bytes()
    result = _verify(core_ws, draft)
    assert result.status == INCOMPLETE and result.version == "rendered"
    assert result.reasons[0].code == "intermediate_rendered"
    offline = verify_pdf(draft, None, core_ws.trust_roots)
    assert offline.status == UNKNOWN and offline.exit_code == 4
    assert [r.code for r in offline.reasons] == ["no_signature", "offline_unsigned", "offline_no_ledger"]


@pytest.mark.parametrize(("ending", "code"), [(None, "stage_waiting_client"), (Stage.DECLINED, "stage_declined"),
                                              (Stage.EXPIRED, "stage_expired"), (Stage.CANCELED, "stage_canceled")])
def test_unfinished_documents_say_their_stage(core_ws: Workspace, ending: Stage | None, code: str) -> None:
    from esign.core.documents import company_sign_document, prepare_document
    from esign.store import EventInfo

    record, _ = prepare_document(core_ws, make_deal(f"stage-{code}"), "contrato_servicos")
    company_sign_document(core_ws, record.id, approved_by="director")
    core_ws.ledger.move(record.id, Stage.SENT, "sent", EventInfo(actor="pipeline", channel="sms"))
    if ending is not None:
        core_ws.ledger.move(record.id, ending, ending.value, EventInfo(actor="client"))
    result = _verify(core_ws, core_ws.version_path("company_signed", record.id).read_bytes())
    assert result.status == INCOMPLETE and result.exit_code == 3
    assert result.stage == (ending or Stage.SENT).value
    assert [r.code for r in result.reasons] == ["intermediate_company_signed", code]


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
    assert result.status == ALTERED and result.exit_code == 1, (case, result.reason_texts())
    assert result.document_id == doc_id
    assert result.reasons[0].code == "hash_mismatch" and result.reasons[0].params["document"] == doc_id
    assert verify_pdf(tampered, None, core_ws.trust_roots).status != AUTHENTIC


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
    def edit_uncertified(writer: PdfWriter) -> None:  # a forger drops our certification so the tool lets him sign
        writer.pages[0].merge_page(_overlay("R$ 1,00"))
        writer._root_object.pop(NameObject("/Perms"), None)

    modified = _rewrite(path.read_bytes(), edit_uncertified)
    forged = sealer.sign(modified, "Forgery", reason="forged", location="nowhere", signer_name="Mallory",
                         signed_at=datetime(2026, 11, 28, tzinfo=UTC))
    result = _verify(core_ws, forged)
    assert result.status == ALTERED and result.document_id == doc_id
    assert "signer_not_trusted" in {r.code for r in result.reasons}


def test_non_pdf_is_unknown(core_ws: Workspace) -> None:
    result = _verify(core_ws, b"hello, I am not a PDF\n" * 10)
    assert result.status == UNKNOWN and [r.code for r in result.reasons] == ["not_pdf"] and result.exit_code == 4
    assert _verify(core_ws, b"").status == UNKNOWN


def test_pdf_never_issued_here_is_unknown(core_ws: Workspace) -> None:
    buf = io.BytesIO()
    canvas = Canvas(buf)
    canvas.drawString(72, 720, "Contrato qualquer DOC-0000000000000000")
    canvas.save()
    result = _verify(core_ws, buf.getvalue())
    assert result.status == UNKNOWN
    assert result.signatures == []


def test_offline_verdict_with_nobody_trusted(core_ws: Workspace, completed: tuple[str, Path]) -> None:
    _, path = completed
    assert verify_pdf(_incremental_page_change(path.read_bytes()), None, core_ws.trust_roots).status == ALTERED
    nobody = verify_pdf(path.read_bytes(), None, [])
    assert nobody.status == ALTERED and "signer_not_trusted" in {r.code for r in nobody.reasons}


def test_pdfsig_second_opinion_trusts_the_company_ca(core_ws: Workspace, completed: tuple[str, Path],
                                                     tmp_path: Path) -> None:
    from esign.verify.poppler import pdfsig_output, pdfsig_problem

    _, path = completed
    assert pdfsig_problem(path, core_ws.trust_roots) is None
    assert "Certificate is Trusted" in pdfsig_output(path, core_ws.trust_roots)
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(_incremental_page_change(path.read_bytes()))
    problem = pdfsig_problem(changed, core_ws.trust_roots)
    assert problem is not None and "Signature" in problem


def test_a_seal_still_holds_after_its_certificates_expire(core_ws: Workspace, completed: tuple[str, Path]) -> None:
    """Checked 3 years later (the demo certificates last 825 days): valid as of its trusted timestamp, with the
    revocation status the seal carries; a signature without a timestamp would not be."""
    from datetime import timedelta

    from esign.verify.signatures import check_signatures

    _, path = completed
    later = datetime.now(UTC) + timedelta(days=3 * 365)
    seal = check_signatures(path.read_bytes(), core_ws.trust_roots, moment=later).checks[0]
    assert seal.trusted and seal.ok and seal.timestamp is not None
    unstamped = core_ws.version_path("company_signed", completed[0]).read_bytes()  # the company's B-B signature
    assert not check_signatures(unstamped, core_ws.trust_roots, moment=later).checks[0].trusted
