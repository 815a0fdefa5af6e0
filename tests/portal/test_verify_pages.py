"""The public verification pages: the QR-code target and the PDF upload, with the real verifier."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from fastapi.testclient import TestClient

from esign.store import EventInfo, sha256_hex

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
    assert "Enviado ao cliente" in html and "Maria Diretora" in html and "Código enviado" in html
    version = env.ledger.version(request.document_id, "company_signed")
    assert version is not None and version.sha256 in html
    assert "198.51.100.9" not in html and "SecretPhone" not in html  # IPs and agents stay in the ledger


def test_document_status_after_signing_shows_the_client(client: TestClient, env: Env) -> None:
    _, request = env.new_link()
    env.requests.issue_code(request, env.recorder, "1.1.1.1", "ua")
    env.requests.check_code(request, env.recorder.last_code, "1.1.1.1", "ua")
    env.requests.sign(request, "Ana Souza", None, True, "1.1.1.1", "ua")
    html = client.get(f"/verify/{request.document_id}").text
    assert "Ana Souza" in html and "Assinado pelo cliente" in html and "+5511*****4321" in html


def test_unknown_documents_are_404(client: TestClient) -> None:
    for doc_id in ("DOC-0000000000000000", "nope", "DOC-../../etc"):
        response = client.get(f"/verify/{doc_id}")
        assert response.status_code == 404 and "não encontramos" in response.text.lower()


def test_upload_an_issued_unsigned_original_is_authentic(client: TestClient, env: Env, tmp_path: Path) -> None:
    doc, _ = env.ledger.create_document(deal_id="900", template_id="contrato", title="Original")
    data = env.make_pdf(tmp_path / "original.pdf", 1, text="Original")
    env.ledger.add_version(doc.id, "rendered", sha256=sha256_hex(data), path=str(tmp_path / "original.pdf"),
                           size=len(data))
    response = _upload(client, data)
    assert response.status_code == 200
    assert 'data-status="authentic"' in response.text and "Documento autêntico" in response.text
    assert sha256_hex(data) in response.text and doc.id in response.text


def test_upload_verdicts_altered_and_unknown(client: TestClient, env: Env, tmp_path: Path) -> None:
    _, request = env.new_link()
    issued = (env.documents_dir / f"{request.document_id}.pdf").read_bytes()
    altered = _upload(client, issued)  # issued as company-signed, but this test file carries no signature
    assert altered.status_code == 200 and 'data-status="altered"' in altered.text
    assert "Documento alterado" in altered.text
    stranger = _upload(client, env.make_pdf(tmp_path / "x.pdf", 1, text="Outro"))
    assert stranger.status_code == 200 and 'data-status="unknown"' in stranger.text


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
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text and "20 MB" in page.text
