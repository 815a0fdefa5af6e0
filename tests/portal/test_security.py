"""CSRF on every POST, security headers on every response, cookies, no tokens in logs, the 500 page."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from esign.portal.web import RedactTokens

if TYPE_CHECKING:
    from conftest import Env


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


@pytest.mark.parametrize("path", ["/s/{t}/code", "/s/{t}/verify", "/s/{t}/sign", "/s/{t}/decline"])
def test_posts_without_or_with_a_bad_csrf_token_are_refused(client: TestClient, env: Env, path: str) -> None:
    token, request = env.new_link()
    url = path.format(t=token)
    page = client.get(f"/s/{token}")
    good = _csrf(page.text)
    missing = client.post(url, data={"intent": "sign", "code": "123456"})
    assert missing.status_code == 403 and "Sessão expirada" in missing.text
    forged = client.post(url, data={"csrf": "0" * 64, "intent": "sign"})
    assert forged.status_code == 403
    other = TestClient(env.make_app())  # the right token but another browser (no matching cookie)
    assert other.post(url, data={"csrf": good, "intent": "sign"}).status_code == 403
    assert env.recorder.sent == []
    assert "code_sent" not in [e.action for e in env.ledger.events(request.document_id)]


def test_verify_upload_needs_csrf(client: TestClient) -> None:
    response = client.post("/verify", files={"file": ("a.pdf", b"%PDF-1.4\n", "application/pdf")})
    assert response.status_code == 403


def test_security_headers_everywhere(client: TestClient, env: Env) -> None:
    token, _ = env.new_link()
    for url in (f"/s/{token}", f"/s/{token}/pages/1.png", "/verify", "/healthz", "/static/portal.js", "/nope",
                "/s/" + "A" * 43):
        response = client.get(url)
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "default-src 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
    page = client.get(f"/s/{token}")
    assert page.headers["cache-control"] == "no-store"


def test_csrf_cookie_flags(client: TestClient, env: Env) -> None:
    token, _ = env.new_link()
    cookie = client.get(f"/s/{token}").headers["set-cookie"]
    assert cookie.startswith("esign_csrf=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie
    secure = TestClient(env.make_app(public_url="https://assinar.example.com"), base_url="https://testserver")
    cookie = secure.get(f"/s/{token}").headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_no_inline_script_or_style_in_any_page(client: TestClient, env: Env) -> None:
    token, _ = env.new_link()
    page = client.get(f"/s/{token}").text
    code = client.post(f"/s/{token}/code", data={"csrf": _csrf(page), "intent": "sign"}).text
    sign = client.post(f"/s/{token}/verify", data={"csrf": _csrf(code), "code": env.recorder.last_code}).text
    for html in (page, code, sign, client.get("/verify").text):
        for tag in re.findall(r"<script[^>]*>", html):
            assert 'src="/static/' in tag
        assert not re.search(r"<script[^>]*>\s*[^<\s]", html)
        assert not re.search(r"\son[a-z]+=", html) and " style=" not in html and "<style" not in html


def test_the_verified_cookie_is_scoped_to_the_link(client: TestClient, env: Env) -> None:
    token, _ = env.new_link()
    page = client.get(f"/s/{token}").text
    code = client.post(f"/s/{token}/code", data={"csrf": _csrf(page), "intent": "sign"}).text
    response = client.post(f"/s/{token}/verify", data={"csrf": _csrf(code), "code": env.recorder.last_code})
    cookie = response.headers["set-cookie"]
    assert f"Path=/s/{token}" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_unexpected_errors_show_a_plain_500_page(env: Env) -> None:
    def broken_verify(*_: object) -> object:
        raise RuntimeError("secret internals /s/should-not-leak")

    client = TestClient(env.make_app(verify=broken_verify), raise_server_exceptions=False)
    form = client.get("/verify")
    response = client.post("/verify", data={"csrf": _csrf(form.text)},
                           files={"file": ("a.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")})
    assert response.status_code == 500
    assert "Algo deu errado" in response.text
    assert "Traceback" not in response.text and "secret internals" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_tokens_are_redacted_from_access_logs() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("1.2.3.4:5", "GET", "/s/SECRETTOKEN/pages/1.png", "1.1", 200), None)
    assert RedactTokens().filter(record)
    assert "SECRETTOKEN" not in record.getMessage() and "/s/…/pages/1.png" in record.getMessage()


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
