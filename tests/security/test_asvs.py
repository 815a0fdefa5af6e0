"""OWASP ASVS 4.0.3 items that apply to the signing portal and the staff register, one test per item.

Session management (V3), access control / CSRF (V4.2.2), input validation and output encoding (V5),
logging of secrets (V7.1.1), anti-automation (V11.1.4), uploads (V12.1.1), HTTP security headers (V14.4),
and constant-time comparison of secrets (V2.x/V6 practice, checked on the source).
"""

from __future__ import annotations

import ast
import logging
import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from esign.model import Stage
from esign.portal.security import RateLimiter
from esign.store import EventInfo
from tests.security.conftest import Portal, Staff, csrf_of

PLUGINS = Path(__file__).resolve().parents[2] / "plugins" / "esign"
PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _set_cookies(response: object) -> list[str]:
    return list(response.headers.get_list("set-cookie"))  # type: ignore[attr-defined]


def _portal_cookies(portal: Portal, public_url: str) -> list[str]:
    client = portal.client(public_url=public_url)
    link = portal.links[0]
    cookies = _set_cookies(client.get(f"/s/{link.token}"))
    code = client.post(f"/s/{link.token}/code", data={"csrf": csrf_of(client.get(f"/s/{link.token}").text)})
    verify = client.post(f"/s/{link.token}/verify", data={"csrf": csrf_of(code.text),
                                                          "code": portal.codes.codes[link.request_id]})
    assert verify.status_code == 200
    return cookies + _set_cookies(verify)


def _staff_cookies(staff: Staff) -> list[str]:
    client = staff.client(secure=True)
    page = client.get("/staff/login")
    cookies = _set_cookies(page)
    login = client.post("/staff/login", data={"login": "dir", "password": "senha-da-maria", "csrf": csrf_of(page.text)})
    assert login.status_code == 303
    return cookies + _set_cookies(login)


# -- V3 session management ---------------------------------------------------------------------------------
def test_V3_4_1_cookies_have_the_secure_attribute_on_https(portal: Portal, staff: Staff) -> None:
    cookies = _portal_cookies(portal, "https://assinar.example.com") + _staff_cookies(staff)
    names = {c.split("=", 1)[0] for c in cookies}
    assert {"esign_csrf", "esign_verified", "esign_staff"} <= names
    assert all("Secure" in c for c in cookies), cookies


def test_V3_4_2_cookies_are_httponly(portal: Portal, staff: Staff) -> None:
    for cookie in _portal_cookies(portal, "http://testserver") + _staff_cookies(staff):
        assert "HttpOnly" in cookie, cookie


def test_V3_4_3_cookies_are_samesite_strict(portal: Portal, staff: Staff) -> None:
    for cookie in _portal_cookies(portal, "http://testserver") + _staff_cookies(staff):
        assert "SameSite=strict" in cookie, cookie


def test_V3_4_5_cookies_are_scoped_to_their_path(portal: Portal, staff: Staff) -> None:
    link = portal.links[0]
    cookies = _portal_cookies(portal, "http://testserver")
    verified = next(c for c in cookies if c.startswith("esign_verified="))
    assert f"Path=/s/{link.token}" in verified  # the proof of a confirmed code reaches one link only
    session = next(c for c in _staff_cookies(staff) if c.startswith("esign_staff="))
    assert "Path=/staff" in session  # the staff session never reaches the clients' pages


def test_V3_2_1_a_new_session_token_on_every_login(staff: Staff) -> None:
    first, second = staff.client(), staff.client()
    assert staff.login(first) == 303 and staff.login(second) == 303
    assert first.cookies.get("esign_staff") and first.cookies.get("esign_staff") != "x"
    forged = staff.client()
    forged.cookies.set("esign_staff", "dir|99999999999|" + "0" * 64, path="/staff")
    assert forged.get("/staff/").status_code == 303  # a session the server did not sign is no session


def test_V3_3_1_logout_ends_the_session_on_the_server(staff: Staff) -> None:
    client = staff.client()
    assert staff.login(client) == 303
    page = client.get("/staff/")
    stolen = client.cookies.get("esign_staff")
    assert stolen
    response = client.post("/staff/logout", data={"csrf": csrf_of(page.text)})
    assert response.status_code == 303
    cleared = next(c for c in _set_cookies(response) if c.startswith("esign_staff="))
    assert "Max-Age=0" in cleared or "expires=Thu, 01 Jan 1970" in cleared
    replay = staff.client()
    replay.cookies.set("esign_staff", stolen, path="/staff")
    assert replay.get("/staff/", follow_redirects=False).status_code in (302, 303, 401)
    assert staff.login(replay) == 303  # logging in again works


# -- V4.2.2 CSRF -----------------------------------------------------------------------------------------
def test_V4_2_2_every_state_changing_portal_route_needs_csrf(portal: Portal) -> None:
    app = portal.app(public_url="http://testserver")
    posts = sorted(r.path for r in app.routes if isinstance(r, APIRoute) and r.methods & {"POST", "PUT", "DELETE"})
    assert posts == ["/s/{token}/code", "/s/{token}/decline", "/s/{token}/sign", "/s/{token}/verify", "/verify"]
    client = TestClient(app, follow_redirects=False)
    link = portal.links[1]
    csrf = portal.confirm(client, link)
    for path in posts:
        url = path.format(token=link.token)
        data = {"intent": "sign", "code": "123456", "typed_name": "X", "consent": "yes", "reason": "não"}
        if url == "/verify":
            response = client.post(url, files={"file": ("a.pdf", b"%PDF-1.4\n", "application/pdf")})
        else:
            response = client.post(url, data=data)
        assert response.status_code == 403, url
        forged = csrf[:-1] + ("1" if csrf.endswith("0") else "0")
        if url != "/verify":
            assert client.post(url, data={**data, "csrf": forged}).status_code == 403, url
    assert portal.services.ledger.get(link.document_id).stage is Stage.VIEWED  # nothing was signed


def test_V4_2_2_every_state_changing_staff_route_needs_csrf(staff: Staff) -> None:
    from esign.register.app import create_register_app

    app = create_register_app(staff.pipe.services)
    posts = sorted(r.path for r in app.routes if isinstance(r, APIRoute) and r.methods & {"POST", "PUT", "DELETE"})
    assert posts == ["/staff/bulk/{action}", "/staff/documents/{document_id}/{action}", "/staff/download.zip",
                     "/staff/login", "/staff/logout"]
    client = staff.client()
    assert client.post("/staff/login", data={"login": "dir", "password": "senha-da-maria"}).status_code == 403
    assert staff.login(client) == 303
    for url in ("/staff/documents/DOC-0000000000000000/cancel", "/staff/bulk/cancel", "/staff/download.zip",
                "/staff/logout"):
        assert client.post(url, data={"doc": "DOC-0000000000000000", "reason": "x"}).status_code == 403, url
    assert client.get("/staff/").status_code == 200  # still logged in: the forged logout did nothing


# -- V5 input validation and output encoding -------------------------------------------------------------
def _escaped(html: str) -> None:
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert" in html


def test_V5_3_3_client_supplied_text_is_escaped_on_every_page(portal: Portal, staff: Staff) -> None:
    ledger = portal.services.ledger
    client = portal.client(public_url="http://testserver")
    # title and counterparty name, as the CRM sent them
    signer, decliner = portal.links[2], portal.links[3]
    with ledger.engine.begin() as conn:
        from esign.store.schema import documents

        conn.execute(documents.update().where(documents.c.id.in_([signer.document_id, decliner.document_id]))
                     .values(title=PAYLOAD, counterparty_name=PAYLOAD))
    _escaped(client.get(f"/s/{signer.token}").text)
    csrf = portal.confirm(client, signer)
    # a typed name refused (no consent) is shown back in the form
    refused = client.post(f"/s/{signer.token}/sign", data={"csrf": csrf, "typed_name": PAYLOAD})
    assert refused.status_code == 400
    _escaped(refused.text)
    signed = client.post(f"/s/{signer.token}/sign", data={"csrf": csrf, "typed_name": "Ana " + PAYLOAD,
                                                          "consent": "yes"})
    assert signed.status_code == 303
    _escaped(client.get(f"/s/{signer.token}/done").text)
    _escaped(client.get(f"/verify/{signer.document_id}").text)
    # a decline reason shown back, then recorded
    csrf = portal.confirm(client, decliner, "decline")
    declined = client.post(f"/s/{decliner.token}/decline", data={"csrf": csrf, "reason": "Não concordo " + PAYLOAD})
    assert declined.status_code == 303
    assert any(PAYLOAD in e.detail for e in ledger.events(decliner.document_id))  # kept as typed, escaped on output
    _escaped(client.get(f"/verify/{decliner.document_id}").text)
    # the staff register shows the same kinds of text
    sledger = staff.pipe.ws.ledger
    doc, _ = sledger.create_document(deal_id="x1", template_id="contrato_servicos", title=PAYLOAD,
                                     counterparty_name=PAYLOAD, counterparty_email="a@b.example")
    sledger.log(doc.id, "declined", EventInfo(actor=PAYLOAD, detail=PAYLOAD, user_agent=PAYLOAD))
    register = staff.client()
    assert staff.login(register) == 303
    _escaped(register.get(f"/staff/documents/{doc.id}").text)
    _escaped(register.get("/staff/", params={"counterparty": PAYLOAD}).text)


def test_V5_1_3_form_bodies_are_size_limited(portal: Portal, staff: Staff) -> None:
    client = portal.client(public_url="http://testserver")
    link = portal.links[4]
    page = client.get(f"/s/{link.token}")
    big = client.post(f"/s/{link.token}/code", data={"csrf": csrf_of(page.text), "pad": "x" * 20_000})
    assert big.status_code == 413
    register = staff.client()
    login_page = register.get("/staff/login")
    big = register.post("/staff/login", data={"csrf": csrf_of(login_page.text), "login": "dir",
                                              "password": "x" * 300_000})
    assert big.status_code == 413


def test_V5_1_4_unknown_or_malformed_links_are_plain_404s(portal: Portal) -> None:
    client = portal.client(public_url="http://testserver")
    for token in ("A" * 43, "../../etc/passwd", "%00", "A" * 5000, "<script>"):
        response = client.get(f"/s/{token}")
        assert response.status_code == 404, token
        assert "<script>" not in response.text.replace('<script src="/static/', "")


# -- V7.1.1 no secrets in logs -----------------------------------------------------------------------------
def test_V7_1_1_tokens_and_codes_never_reach_the_logs(portal: Portal, caplog: pytest.LogCaptureFixture) -> None:
    import httpx
    from bench.load_portal import Server

    link = portal.links[5]
    caplog.set_level(logging.DEBUG)
    with Server(portal.app(public_url="http://testserver"), access_log=True) as server, \
            httpx.Client(base_url=server.url, follow_redirects=False) as http:
        page = http.get(f"/s/{link.token}")
        code_page = http.post(f"/s/{link.token}/code", data={"csrf": csrf_of(page.text), "intent": "sign"})
        code = portal.codes.codes[link.request_id]
        wrong = http.post(f"/s/{link.token}/verify", data={"csrf": csrf_of(code_page.text), "code": "000000"
                                                            if code != "000000" else "111111"})
        step = http.post(f"/s/{link.token}/verify", data={"csrf": csrf_of(wrong.text), "code": code})
        http.get(f"/s/{link.token}/pages/1.png")
        http.post(f"/s/{link.token}/sign", data={"csrf": csrf_of(step.text), "typed_name": "Ana", "consent": "yes"})
        http.get(f"/s/{link.token}/done")
        http.get(f"/s/{link.token}/document.pdf")
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]  # not the test's client
    text = "\n".join(f"{r.name} {r.getMessage()}" for r in server_side)
    assert "uvicorn.access" in text and "/s/…" in text  # the access log ran, redacted
    assert link.token not in text
    assert not re.search(rf"(?<!\d){code}(?!\d)", text)
    assert csrf_of(step.text) not in text


# -- V11.1.4 anti-automation ---------------------------------------------------------------------------------
def test_V11_1_4_uploads_are_limited_per_ip(portal: Portal) -> None:
    client = portal.client(public_url="http://testserver", uploads_per_minute=3)
    csrf = csrf_of(client.get("/verify").text)
    statuses = [client.post("/verify", data={"csrf": csrf},
                            files={"file": ("a.pdf", b"not a pdf", "application/pdf")}).status_code for _ in range(4)]
    assert statuses[:3] == [400, 400, 400] and statuses[3] == 429
    last = client.post("/verify", data={"csrf": csrf}, files={"file": ("a.pdf", b"x", "application/pdf")})
    assert last.status_code == 429 and 1 <= int(last.headers["retry-after"]) <= 60


def test_V11_1_4_logins_are_limited_per_ip(staff: Staff) -> None:
    client = staff.client(logins_per_minute=3)
    statuses = [staff.login(client, "dir", "errada") for _ in range(3)]
    assert statuses == [401, 401, 401]
    page = client.get("/staff/login")
    blocked = client.post("/staff/login", data={"login": "dir", "password": "senha-da-maria",
                                                "csrf": csrf_of(page.text)})
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
    assert "esign_staff" not in blocked.headers.get("set-cookie", "")  # even the right password waits


def test_V11_1_4_code_requests_are_limited_per_link_and_per_ip(portal: Portal) -> None:
    client = portal.client(public_url="http://testserver", code_posts_per_minute=4)
    link = portal.links[6]
    page = client.get(f"/s/{link.token}")
    first = client.post(f"/s/{link.token}/code", data={"csrf": csrf_of(page.text)})
    assert first.status_code == 200
    again = client.post(f"/s/{link.token}/code", data={"csrf": csrf_of(first.text)})
    assert again.status_code == 429 and int(again.headers["retry-after"]) >= 1  # per link: one code a minute
    for _ in range(2):  # wrong codes, counted per IP too
        client.post(f"/s/{link.token}/verify", data={"csrf": csrf_of(first.text), "code": "999999"})
    blocked = client.post(f"/s/{link.token}/verify", data={"csrf": csrf_of(first.text), "code": "999999"})
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1


def test_V11_1_4_code_checks_are_limited_per_code() -> None:
    from esign.requests.service import CODE_MAX_FAILURES

    assert CODE_MAX_FAILURES <= 5  # the service burns a code after 5 wrong tries (tested in tests/requests)


def test_V11_1_4_the_limiter_forgets_after_its_window_and_bounds_memory() -> None:
    now = [0.0]
    limiter = RateLimiter(2, 60, max_keys=100, clock=lambda: now[0])
    assert limiter.hit("a") is None and limiter.hit("a") is None
    assert limiter.hit("a") == 60
    now[0] = 30
    assert limiter.hit("a") == 30 and limiter.hit("b") is None
    now[0] = 61
    assert limiter.hit("a") is None
    for n in range(1000):
        limiter.hit(f"10.0.{n // 256}.{n % 256}")
    assert len(limiter._hits) <= 100


# -- V12.1.1 upload size --------------------------------------------------------------------------------
def test_V12_1_1_uploads_over_the_limit_are_refused(portal: Portal) -> None:
    client = portal.client(public_url="http://testserver", max_upload_bytes=1 << 20)
    csrf = csrf_of(client.get("/verify").text)
    body = b"%PDF-1.4\n" + b"0" * ((1 << 20) + 10)
    response = client.post("/verify", data={"csrf": csrf}, files={"file": ("big.pdf", body, "application/pdf")})
    assert response.status_code == 413
    huge = b"%PDF-1.4\n" + b"0" * (3 << 20)  # past the multipart allowance: refused while reading
    response = client.post("/verify", data={"csrf": csrf}, files={"file": ("big.pdf", huge, "application/pdf")})
    assert response.status_code == 413


# -- V14.4 HTTP security headers --------------------------------------------------------------------------
def _responses(portal: Portal, staff: Staff, public_url: str) -> list[object]:
    client = portal.client(public_url=public_url)
    link = portal.links[7]
    register = staff.client(secure=public_url.startswith("https"))
    return [client.get(f"/s/{link.token}"), client.get("/verify"), client.get("/static/portal.js"),
            client.get("/nope"), client.get("/healthz"), register.get("/staff/login"), register.get("/staff/")]


@pytest.mark.parametrize("public_url", ["http://testserver", "https://assinar.example.com"])
def test_V14_4_3_content_security_policy_without_inline_script(portal: Portal, staff: Staff, public_url: str) -> None:
    for response in _responses(portal, staff, public_url):
        csp = response.headers["content-security-policy"]  # type: ignore[attr-defined]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "base-uri 'none'" in csp and "form-action 'self'" in csp


def test_V14_4_4_nosniff_everywhere(portal: Portal, staff: Staff) -> None:
    for response in _responses(portal, staff, "http://testserver"):
        assert response.headers["x-content-type-options"] == "nosniff"  # type: ignore[attr-defined]


def test_V14_4_1_html_declares_its_charset(portal: Portal, staff: Staff) -> None:
    for response in _responses(portal, staff, "http://testserver"):
        content_type = response.headers.get("content-type", "")  # type: ignore[attr-defined]
        if content_type.startswith("text/html"):
            assert "charset=utf-8" in content_type


def test_V14_4_5_hsts_only_when_the_public_url_is_https(portal: Portal, staff: Staff) -> None:
    for response in _responses(portal, staff, "https://assinar.example.com"):
        hsts = response.headers["strict-transport-security"]  # type: ignore[attr-defined]
        assert "max-age=31536000" in hsts
    for response in _responses(portal, staff, "http://testserver"):
        assert "strict-transport-security" not in response.headers  # type: ignore[attr-defined]


def test_V14_4_6_no_referrer_so_token_urls_never_leak(portal: Portal, staff: Staff) -> None:
    for response in _responses(portal, staff, "http://testserver"):
        assert response.headers["referrer-policy"] == "no-referrer"  # type: ignore[attr-defined]


def test_V14_4_7_pages_cannot_be_framed(portal: Portal, staff: Staff) -> None:
    for response in _responses(portal, staff, "http://testserver"):
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]  # type: ignore[attr-defined]
        assert response.headers["x-frame-options"] == "DENY"  # type: ignore[attr-defined]


def test_V8_2_1_token_pages_are_not_cached(portal: Portal) -> None:
    client = portal.client(public_url="http://testserver")
    link = portal.links[7]
    for url in (f"/s/{link.token}", f"/s/{link.token}/done", "/verify"):
        assert "no-store" in client.get(url).headers["cache-control"], url


# -- secrets compared in constant time ------------------------------------------------------------------
_SECRET_WORDS = re.compile(r"token|code|hmac|mac\b|digest|csrf|proof|password|secret|sha", re.IGNORECASE)


def _secret_equality(path: Path) -> list[str]:
    """``==``/``!=`` between values whose names say they are secrets (SQL column filters excepted)."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare) or not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
            continue
        sides = [node.left, *node.comparators]
        texts = [ast.unparse(s) for s in sides]
        if any(".c." in t for t in texts):  # a WHERE clause looking a row up by its hash
            continue
        if any(isinstance(s, ast.Constant) for s in sides):  # comparing with a literal (a kind, a status)
            continue
        if any(_SECRET_WORDS.search(t) for t in texts):
            found.append(f"{path.relative_to(PLUGINS)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_V2_9_secrets_are_compared_in_constant_time() -> None:
    areas = ["requests", "portal", "register", "access"]
    problems = [p for area in areas for path in sorted((PLUGINS / area).rglob("*.py")) for p in _secret_equality(path)]
    assert problems == []
    for path in ("requests/service.py", "portal/security.py", "portal/web.py", "register/session.py",
                 "access/passwords.py"):
        assert "hmac.compare_digest(" in (PLUGINS / path).read_text(encoding="utf-8"), path
