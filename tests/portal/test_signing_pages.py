"""The client's pages over HTTP against the real app: the whole flow, and every way a link can fail."""

from __future__ import annotations

import base64
import io
import re
from typing import TYPE_CHECKING

from fastapi.testclient import TestClient
from PIL import Image

from esign.model import Stage
from esign.requests import RequestStatus

if TYPE_CHECKING:
    from conftest import Env


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


def _png_data_url() -> str:
    image = Image.new("RGBA", (320, 120), (0, 0, 0, 0))
    for x in range(10, 300):
        image.putpixel((x, 60 + (x // 10) % 5), (0, 0, 0, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def _to_code_page(client: TestClient, token: str, intent: str = "sign") -> str:
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    sent = client.post(f"/s/{token}/code", data={"csrf": _csrf(page.text), "intent": intent})
    assert sent.status_code == 200, sent.text
    return sent.text


def _verified(client: TestClient, env: Env, token: str, intent: str = "sign") -> str:
    code_page = _to_code_page(client, token, intent)
    step = client.post(f"/s/{token}/verify", data={"csrf": _csrf(code_page), "code": env.recorder.last_code,
                                                    "intent": intent})
    assert step.status_code == 200, step.text
    return step.text


def test_the_document_page(client: TestClient, env: Env) -> None:
    token, request = env.new_link(title="Contrato de manutenção")
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    html = page.text
    assert "Contrato de manutenção" in html and "Acme Serviços Ltda" in html and request.document_id in html
    assert f"/s/{token}/pages/1.png" in html and f"/s/{token}/pages/2.png" in html
    assert f"/s/{token}/document.pdf" in html
    assert ">Assinar<" in html and ">Recusar<" in html and "+5511*****4321" in html
    assert 'lang="pt-BR"' in html
    assert env.ledger.get(request.document_id).stage is Stage.VIEWED
    viewed = env.ledger.events(request.document_id)[-1]
    assert viewed.action == "viewed" and viewed.ip == "testclient" and viewed.user_agent


def test_page_images_are_rendered_once_and_cached(client: TestClient, env: Env) -> None:
    token, request = env.new_link(pages=2)
    first = client.get(f"/s/{token}/pages/1.png")
    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(first.content)) as image:
        assert abs(image.size[0] - 595.28 * 80 / 72) <= 1  # A4 at 80 dpi
    cached = list((env.settings.cache_dir / request.document_id).rglob("page-1.png"))
    assert len(cached) == 1
    mtime = cached[0].stat().st_mtime_ns
    assert client.get(f"/s/{token}/pages/1.png").content == first.content
    assert cached[0].stat().st_mtime_ns == mtime
    assert client.get(f"/s/{token}/pages/3.png").status_code == 404
    assert client.get(f"/s/{token}/pages/0.png").status_code == 404
    assert client.get(f"/s/{token}/pages/x.png").status_code == 404


def test_download_is_the_stored_pdf_and_logged(client: TestClient, env: Env) -> None:
    token, request = env.new_link()
    response = client.get(f"/s/{token}/document.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.content == (env.documents_dir / f"{request.document_id}.pdf").read_bytes()
    assert "attachment" in response.headers["content-disposition"]
    assert env.ledger.events(request.document_id)[-1].action == "downloaded"


def test_sign_flow_over_http(client: TestClient, env: Env) -> None:
    token, request = env.new_link()
    code_page = _to_code_page(client, token)
    assert "Enviamos um código" in code_page and 'autocomplete="one-time-code"' in code_page
    wrong = f"{(int(env.recorder.last_code) + 1) % 1_000_000:06d}"
    bad = client.post(f"/s/{token}/verify", data={"csrf": _csrf(code_page), "code": wrong, "intent": "sign"})
    assert bad.status_code == 400 and "restam 4 tentativas" in bad.text
    sign_page = client.post(f"/s/{token}/verify", data={"csrf": _csrf(bad.text), "code": env.recorder.last_code,
                                                         "intent": "sign"})
    assert sign_page.status_code == 200
    assert 'id="pad"' in sign_page.text and 'name="consent"' in sign_page.text
    no_consent = client.post(f"/s/{token}/sign", data={"csrf": _csrf(sign_page.text), "typed_name": "Ana Souza"})
    assert no_consent.status_code == 400 and "concordar" in no_consent.text
    assert 'value="Ana Souza"' in no_consent.text  # what was typed is kept
    bad_png = client.post(f"/s/{token}/sign", data={"csrf": _csrf(sign_page.text), "typed_name": "Ana Souza",
                                                    "consent": "yes", "drawn_png": "data:image/png;base64,@@"})
    assert bad_png.status_code == 400
    done = client.post(f"/s/{token}/sign", data={"csrf": _csrf(sign_page.text), "typed_name": "Ana Souza",
                                                 "consent": "yes", "drawn_png": _png_data_url()},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/s/{token}/done"
    final = client.get(done.headers["location"])
    assert final.status_code == 200 and "Documento assinado" in final.text and "Ana Souza" in final.text
    assert f"http://testserver/verify/{request.document_id}" in final.text

    assert env.ledger.get(request.document_id).stage is Stage.CLIENT_SIGNED
    evidence = env.requests.evidence(request.document_id)[0]
    assert evidence.typed_name == "Ana Souza" and evidence.drawn_png and evidence.ip == "testclient"
    actions = [e.action for e in env.ledger.events(request.document_id)]
    assert actions[-5:] == ["viewed", "code_sent", "code_failed", "code_verified", "client_signed"]

    again = client.get(f"/s/{token}")  # the used link: the signed page, with no way to sign again
    assert again.status_code == 200 and "Documento assinado" in again.text and 'id="sign-start"' not in again.text
    assert 'data-final="no"' in again.text and "via final" in again.text
    resubmit = client.post(f"/s/{token}/sign", data={"csrf": _csrf(sign_page.text), "typed_name": "Ana Souza",
                                                     "consent": "yes"})
    assert resubmit.status_code == 409
    assert actions.count("client_signed") == 1
    assert client.get(f"/s/{token}/document.pdf").status_code == 200  # the signer may still download


def test_signing_needs_the_code_confirmed_in_this_browser(client: TestClient, env: Env) -> None:
    token, _ = env.new_link()
    _verified(client, env, token)
    other = TestClient(env.make_app())
    page = other.get(f"/s/{token}")
    response = other.post(f"/s/{token}/sign", data={"csrf": _csrf(page.text), "typed_name": "Mallory",
                                                    "consent": "yes"})
    assert response.status_code == 403 and "confirme o código" in response.text.lower()


def test_verification_lapses_after_fifteen_minutes(client: TestClient, env: Env) -> None:
    token, _ = env.new_link()
    sign_page = _verified(client, env, token)
    env.clock.advance(minutes=15)
    response = client.post(f"/s/{token}/sign", data={"csrf": _csrf(sign_page), "typed_name": "Ana Souza",
                                                     "consent": "yes"})
    assert response.status_code == 403


def test_decline_flow_over_http(client: TestClient, env: Env) -> None:
    token, request = env.new_link()
    decline_page = _verified(client, env, token, intent="decline")
    assert 'name="reason"' in decline_page
    empty = client.post(f"/s/{token}/decline", data={"csrf": _csrf(decline_page), "reason": "  "})
    assert empty.status_code == 400 and "motivo" in empty.text
    done = client.post(f"/s/{token}/decline", data={"csrf": _csrf(decline_page), "reason": "Prazo errado"},
                       follow_redirects=True)
    assert done.status_code == 200 and "Recusa registrada" in done.text
    assert env.ledger.get(request.document_id).stage is Stage.DECLINED
    assert env.requests.get(request.id).status is RequestStatus.DECLINED
    again = client.get(f"/s/{token}")
    assert again.status_code == 409 and "recusado" in again.text


def test_code_resend_is_throttled_with_retry_after(client: TestClient, env: Env) -> None:
    token, _ = env.new_link()
    code_page = _to_code_page(client, token)
    again = client.post(f"/s/{token}/code", data={"csrf": _csrf(code_page), "intent": "sign"})
    assert again.status_code == 429 and "aguarde 60 segundos" in again.text.lower()
    assert again.headers["retry-after"] == "60"
    assert len(env.recorder.sent) == 1
    env.clock.advance(seconds=60)
    assert client.post(f"/s/{token}/code", data={"csrf": _csrf(code_page), "intent": "sign"}).status_code == 200


def test_burned_code_asks_for_a_new_one(client: TestClient, env: Env) -> None:
    token, _ = env.new_link()
    csrf = _csrf(_to_code_page(client, token))
    wrong = f"{(int(env.recorder.last_code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        response = client.post(f"/s/{token}/verify", data={"csrf": csrf, "code": wrong})
    assert response.status_code == 400 and "solicite um novo código" in response.text
    right = client.post(f"/s/{token}/verify", data={"csrf": csrf, "code": env.recorder.last_code})
    assert right.status_code == 400


def test_link_errors_are_friendly_pages_with_the_right_status(client: TestClient, env: Env) -> None:
    unknown = client.get("/s/" + "A" * 43)
    assert unknown.status_code == 404 and "Link inválido" in unknown.text
    assert client.get("/s/short").status_code == 404
    token, _ = env.new_link()
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert client.get(f"/s/{tampered}").status_code == 404
    assert client.get(f"/s/{tampered}/pages/1.png").status_code == 404
    assert client.get(f"/s/{tampered}/document.pdf").status_code == 404

    env.clock.advance(days=15)
    expired = client.get(f"/s/{token}")
    assert expired.status_code == 410 and "Link expirado" in expired.text and "novo link" in expired.text
    assert client.get(f"/s/{token}/pages/1.png").status_code == 410

    token2, request2 = env.new_link()
    env.ledger.move(request2.document_id, Stage.CANCELED, "canceled")
    canceled = client.get(f"/s/{token2}")
    assert canceled.status_code == 410 and "cancelado" in canceled.text
    for response in (unknown, expired, canceled):
        assert "Traceback" not in response.text and "Error" not in response.text

    missing = client.get("/nada/aqui")
    assert missing.status_code == 404 and "Página não encontrada" in missing.text


def test_done_page_of_an_open_request_goes_back_to_the_document(client: TestClient, env: Env) -> None:
    token, _ = env.new_link()
    response = client.get(f"/s/{token}/done", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/s/{token}"


def test_form_limits(client: TestClient, env: Env) -> None:
    token, _ = env.new_link()
    page = client.get(f"/s/{token}")
    huge = client.post(f"/s/{token}/code", data={"csrf": _csrf(page.text), "intent": "x" * 20_000})
    assert huge.status_code == 413
    as_json = client.post(f"/s/{token}/code", json={"csrf": _csrf(page.text)})
    assert as_json.status_code == 400


def _signed_over_http(client: TestClient, env: Env, token: str) -> int:
    code_page = _to_code_page(client, token)
    sign_page = client.post(f"/s/{token}/verify", data={"csrf": _csrf(code_page), "code": env.recorder.last_code,
                                                         "intent": "sign"})
    done = client.post(f"/s/{token}/sign", data={"csrf": _csrf(sign_page.text), "typed_name": "Ana Souza",
                                                 "consent": "yes"}, follow_redirects=False)
    return done.status_code


def test_an_answer_calls_the_after_answer_hook_once_the_page_went_back(env: Env) -> None:
    called: list[str] = []
    client = TestClient(env.make_app(after_answer=called.append))
    token, request = env.new_link()
    assert _signed_over_http(client, env, token) == 303
    assert called == [request.document_id]  # the next signers are invited at once, not at the next run


def test_a_failing_after_answer_hook_costs_the_signer_nothing(env: Env) -> None:
    def broken(_document_id: str) -> None:
        raise ConnectionError("relay down")

    client = TestClient(env.make_app(after_answer=broken))
    token, request = env.new_link()
    assert _signed_over_http(client, env, token) == 303
    assert env.ledger.get(request.document_id).stage is Stage.CLIENT_SIGNED
