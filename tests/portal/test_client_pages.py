"""The client's pages in the reader's language: the company's contact on error pages, times with their zone, a
form's address opened directly, and the signed document to download once it is sealed."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from fastapi.testclient import TestClient

from esign.model import Stage
from esign.store import EventInfo, sha256_hex

if TYPE_CHECKING:
    from conftest import Env
    from esign.requests import SigningRequest


def _confirmed(env: Env, request: SigningRequest) -> SigningRequest:
    env.requests.issue_code(request, env.recorder, "203.0.113.7", "pytest")
    env.requests.check_code(request, env.recorder.last_code, "203.0.113.7", "pytest")
    return env.requests.get(request.id)


def _sign(env: Env, request: SigningRequest) -> None:
    env.requests.sign(_confirmed(env, request), "Ana Souza", None, True, "203.0.113.7", "pytest")


def _seal(env: Env, request: SigningRequest) -> bytes:
    """What the pipeline does once it seals a signed document: the final file recorded and the document completed."""
    final_dir = env.documents_dir / "completed"
    final_dir.mkdir(exist_ok=True)
    data = env.make_pdf(final_dir / f"{request.document_id}.pdf", 3)
    env.ledger.add_version(request.document_id, "final", sha256=sha256_hex(data),
                           path=f"completed/{request.document_id}.pdf", size=len(data))
    env.ledger.move(request.document_id, Stage.COMPLETED, "completed", EventInfo(actor="pipeline"))
    return data


def test_a_form_address_opened_directly_goes_back_to_the_link_page(env: Env) -> None:
    client = TestClient(env.make_app())
    token, _ = env.new_link()
    for action in ("sign", "code", "verify", "decline"):
        response = client.get(f"/s/{token}/{action}", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == f"/s/{token}", action
    page = client.get(f"/s/{token}/sign")  # followed: the document, not "Algo deu errado"
    assert page.status_code == 200 and 'id="sign-start"' in page.text
    other = client.delete(f"/s/{token}")  # any other refused method is still the friendly error page
    assert other.status_code == 405 and "Algo deu errado" in other.text


def test_error_pages_give_the_company_contact(env: Env) -> None:
    client = TestClient(env.make_app(company_email="contratos@acme.com.br", company_phone="+55 11 3333-4444"))
    page = client.get("/s/" + "x" * 43)
    assert page.status_code == 404 and "Link inválido" in page.text and "Este link não existe." in page.text
    contact = re.search(r'<p class="muted" id="company-contact">(.*?)</p>', page.text, re.S)
    assert contact is not None
    assert "Dúvidas? Fale com Acme Serviços Ltda:" in contact.group(1)
    assert 'href="mailto:contratos@acme.com.br"' in contact.group(1) and 'href="tel:+551133334444"' in contact.group(1)
    bare = TestClient(env.make_app()).get("/s/" + "x" * 43)  # no contact in the profile: no empty line
    assert 'id="company-contact"' not in bare.text


def test_pages_follow_the_company_language(env: Env) -> None:
    client = TestClient(env.make_app(language="es"))
    token, _ = env.new_link()
    page = client.get(f"/s/{token}")
    assert '<html lang="es">' in page.text and "Firmar" in page.text and "Assinar" not in page.text
    english = client.get(f"/s/{token}?lang=en")
    assert '<html lang="en">' in english.text and 'id="sign-start">Sign<' in english.text


def test_wrong_code_and_throttle_texts_are_translated(env: Env) -> None:
    client = TestClient(env.make_app())
    token, _ = env.new_link()
    page = client.get(f"/s/{token}")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    sent = client.post(f"/s/{token}/code", data={"csrf": csrf.group(1), "intent": "sign"})
    wrong = "000000" if env.recorder.last_code != "000000" else "111111"
    answer = client.post(f"/s/{token}/verify", data={"csrf": csrf.group(1), "code": wrong, "intent": "sign"})
    assert answer.status_code == 400 and re.search(r"Código incorreto; restam \d tentativas\.", answer.text)
    again = client.post(f"/s/{token}/code", data={"csrf": csrf.group(1), "intent": "sign"})
    assert sent.status_code == 200 and again.status_code == 429
    assert re.search(r"Muitas tentativas; aguarde \d+ segundos e tente de novo\.", again.text)


def test_signed_link_shows_the_time_in_the_company_zone(env: Env) -> None:
    client = TestClient(env.make_app())
    token, request = env.new_link()
    _sign(env, request)
    page = client.get(f"/s/{token}")
    assert page.status_code == 200 and "Documento assinado" in page.text
    assert "(UTC-03:00)" in page.text and " UTC<" not in page.text
    assert 'data-final="no"' in page.text and "Você receberá a via final" in page.text


def test_completed_document_link_offers_the_final_signed_file(env: Env) -> None:
    client = TestClient(env.make_app())
    token, request = env.new_link()
    _sign(env, request)
    final = _seal(env, request)
    page = client.get(f"/s/{token}")
    assert page.status_code == 200 and 'data-final="yes"' in page.text
    assert "Baixar o documento assinado (PDF)" in page.text and sha256_hex(final) in page.text
    done = client.get(f"/s/{token}/done")
    assert done.status_code == 200 and 'id="download-final"' in done.text
    download = client.get(f"/s/{token}/document.pdf")
    assert download.status_code == 200 and download.content == final  # the sealed file, not the one signed
    assert env.ledger.events(request.document_id)[-1].action == "downloaded"


def test_declined_link_still_says_declined(env: Env) -> None:
    client = TestClient(env.make_app())
    token, request = env.new_link()
    env.requests.decline(_confirmed(env, request), "Valores errados", "203.0.113.7", "pytest")
    page = client.get(f"/s/{token}")
    assert page.status_code == 409 and "Documento recusado" in page.text


def test_a_client_reads_the_language_the_deal_gave(env: Env) -> None:
    from esign.store.schema import documents

    client = TestClient(env.make_app())
    token, request = env.new_link()
    with env.ledger.engine.begin() as conn:
        conn.execute(documents.update().where(documents.c.id == request.document_id).values(language="es-AR"))
    page = client.get(f"/s/{token}")
    assert '<html lang="es">' in page.text and 'id="sign-start">Firmar<' in page.text
    error = client.get("/s/" + "x" * 43)  # no document behind it: the company's language
    assert '<html lang="pt-BR">' in error.text


def test_verification_pages_follow_the_company_language(env: Env) -> None:
    page = TestClient(env.make_app(language="es")).get("/verify")
    assert page.status_code == 200 and '<html lang="es">' in page.text
