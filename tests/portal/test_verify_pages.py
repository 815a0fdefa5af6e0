"""The public verification pages: the QR-code target and the PDF upload, with the real verifier, in pt-BR."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from fastapi.testclient import TestClient

from esign.model import Stage
from esign.portal.verifying import _other_name
from esign.store import EventInfo, sha256_hex
from esign.verify import verify_pdf
from esign.verify.sandbox import Sandbox

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import Env


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


def _upload(client: TestClient, data: bytes, name: str = "contrato.pdf") -> object:
    form = client.get("/verify")
    return client.post("/verify", data={"csrf": _csrf(form.text)}, files={"file": (name, data, "application/pdf")})


def test_document_status_page(client: TestClient, env: Env) -> None:
    _, request = env.new_link(title="Contrato de locação")
    env.ledger.log(request.document_id, "code_sent", EventInfo(actor="client", channel="sms", ip="198.51.100.9",
                                                                user_agent="SecretPhone/1.0"))
    page = client.get(f"/verify/{request.document_id}")
    assert page.status_code == 200
    html = page.text
    assert "Contrato de locação" in html and request.document_id in html
    assert "Enviado ao cliente" in html and "Maria Diretora" in html and "Código de confirmação enviado" in html
    assert 'id="not-final"' in html and "não está concluído" in html  # not the document to keep, yet
    version = env.ledger.version(request.document_id, "company_signed")
    assert version is not None and version.sha256 in html
    assert "198.51.100.9" not in html and "SecretPhone" not in html  # IPs and agents stay in the ledger


def test_document_status_after_signing_shows_the_client(client: TestClient, env: Env) -> None:
    _, request = env.new_link()
    env.requests.issue_code(request, env.recorder, "1.1.1.1", "ua")
    env.requests.check_code(request, env.recorder.last_code, "1.1.1.1", "ua")
    env.requests.sign(request, "Ana Souza", None, True, "1.1.1.1", "ua")
    html = client.get(f"/verify/{request.document_id}").text
    assert "Ana Souza" in html and "Assinado pelo cliente" in html and "código confirmado por SMS" in html
    assert "+5511*****4321" not in html and "4321" not in html  # a public page: names, never contacts


def test_signers_are_named_once_and_the_history_is_in_the_readers_language(client: TestClient, env: Env) -> None:
    """The company by its director (not the system approver), a client signing for themself named once, the
    history's actions and channels by their labels."""
    record, _ = env.ledger.create_document(deal_id="v-1", template_id="t", title="Contrato",
                                            counterparty_name="Álvaro  Silva")
    env.ledger.move(record.id, Stage.COMPANY_SIGNED, "company_signed",
                    EventInfo(actor="auto-approve (configuration)", detail="signed by Helena Duarte"))
    env.ledger.log(record.id, "verified", EventInfo(actor="pipeline", channel="staff"))
    html = client.get(f"/verify/{record.id}").text
    assert "Helena Duarte" in html and "auto-approve" not in html and "configuration" not in html
    assert "Arquivo final verificado" in html and "Equipe" in html and ">verified<" not in html
    signer = env.ledger.create_document(deal_id="v-2", template_id="t", title="Contrato",
                                        counterparty_name="Álvaro Silva")[0]
    assert _other_name(signer.counterparty_name, "álvaro silva") == ""
    assert _other_name("Metalúrgica Araucária Ltda.", "Álvaro Silva") == "Metalúrgica Araucária Ltda."


def test_unknown_documents_are_404(client: TestClient) -> None:
    for doc_id in ("DOC-0000000000000000", "nope", "DOC-../../etc"):
        response = client.get(f"/verify/{doc_id}")
        assert response.status_code == 404 and "não encontramos" in response.text.lower()


def test_upload_of_an_issued_unsigned_original_is_an_intermediate_version(client: TestClient, env: Env,
                                                                          tmp_path: Path) -> None:
    doc, _ = env.ledger.create_document(deal_id="900", template_id="contrato", title="Original")
    data = env.make_pdf(tmp_path / "original.pdf", 1, text="Original")
    env.ledger.add_version(doc.id, "rendered", sha256=sha256_hex(data), path=str(tmp_path / "original.pdf"),
                           size=len(data))
    response = _upload(client, data)
    assert response.status_code == 200
    html = response.text
    assert 'data-status="incomplete"' in html and "Versão intermediária" in html and "autêntico" not in html
    assert "Versão intermediária: o original sem assinaturas" in html
    assert 'id="stage"' in html and "Rascunho" in html  # the document's current stage
    assert sha256_hex(data) in html and doc.id in html


def test_upload_verdicts_altered_and_unknown(client: TestClient, env: Env, tmp_path: Path) -> None:
    _, request = env.new_link()
    issued = (env.documents_dir / f"{request.document_id}.pdf").read_bytes()
    altered = _upload(client, issued)  # issued as company-signed, but this test file carries no signature
    assert altered.status_code == 200 and 'data-status="altered"' in altered.text
    assert "Documento alterado" in altered.text and "não tem assinatura" in altered.text
    stranger = _upload(client, env.make_pdf(tmp_path / "x.pdf", 1, text="Outro"))
    assert stranger.status_code == 200 and 'data-status="unknown"' in stranger.text
    assert "Documento não reconhecido" in stranger.text


def test_upload_in_english_on_request(client: TestClient, env: Env, tmp_path: Path) -> None:
    form = client.get("/verify?lang=en")
    assert "Check a document" in form.text
    stranger = client.post("/verify?lang=en", data={"csrf": _csrf(form.text)},
                           files={"file": ("x.pdf", env.make_pdf(tmp_path / "x.pdf", 1), "application/pdf")})
    assert "Document not recognized" in stranger.text and "No document issued here has this content." in stranger.text


def test_hostile_upload_is_examined_in_a_bounded_child(env: Env) -> None:
    """A file built to exhaust the parser gets a verdict from the sandbox; the portal's own memory stays put."""
    sandbox = Sandbox(time_limit=3.0, memory_limit=256 * 1024 * 1024)
    client = TestClient(env.make_app(verify=functools.partial(verify_pdf, examiner=sandbox.examine)))
    bomb = _one_object_pdf(b"<< /Type /Catalog /X [" + b"1 " * (2 * 1024 * 1024) + b"] >>")
    before = _rss()
    for _ in range(3):
        page = _upload(client, bomb)
        assert page.status_code == 200 and 'data-status="unknown"' in page.text
        assert "grande ou complexo demais" in page.text
        assert sandbox.last is not None and sandbox.last.outcome in ("timeout", "memory", "crashed")
    assert _rss() - before < 64 * 1024 * 1024  # the parsing happened elsewhere


def _one_object_pdf(body: bytes) -> bytes:
    head = b"%PDF-1.7\n"
    obj = b"1 0 obj\n" + body + b"\nendobj\n"
    xref = len(head) + len(obj)
    return head + obj + (b"xref\n0 2\n0000000000 65535 f \n%010d 00000 n \ntrailer\n<< /Size 2 /Root 1 0 R >>\n"
                         b"startxref\n%d\n%%%%EOF\n" % (len(head), xref))


def _rss() -> int:
    import os

    with open(f"/proc/{os.getpid()}/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_upload_limits(client: TestClient, env: Env) -> None:
    assert _upload(client, b"").status_code == 400
    not_pdf = _upload(client, b"GIF89a not a pdf")
    assert not_pdf.status_code == 400 and "não é um PDF" in not_pdf.text
    small = TestClient(env.make_app(max_upload_bytes=1024))
    too_big = _upload(small, b"%PDF-1.4\n" + b"0" * 2048)
    assert too_big.status_code == 413 and "limite" in too_big.text
    way_too_big = _upload(small, b"%PDF-1.4\n" + b"0" * (200 * 1024))
    assert way_too_big.status_code == 413
    assert not list(env.settings.cache_dir.glob("**/*.pdf")) if env.settings.cache_dir.exists() else True


def test_upload_form_page(client: TestClient) -> None:
    page = client.get("/verify")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text and "5 MB" in page.text
    assert "Verificar um documento" in page.text
