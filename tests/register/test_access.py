"""Who gets in and what they reach: login, scope by rights, CSRF, refusals told in Portuguese."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from esign.model import Stage
from esign.register.app import create_register_app
from tests.register.conftest import Desk, csrf_of


def test_login_required_and_wrong_password_in_portuguese(desk: Desk) -> None:
    client = desk.client()
    assert client.get("/staff/").headers["location"] == "/staff/login"
    assert client.get("/staff/api/documents").status_code == 401
    page = client.get("/staff/login")
    assert 'lang="pt-BR"' in page.text and "Entrar" in page.text
    wrong = client.post("/staff/login", data={"login": "emp", "password": "errada-123", "csrf": csrf_of(page.text)})
    assert wrong.status_code == 401 and "Login ou senha incorretos." in wrong.text
    assert client.post("/staff/login", data={"login": "emp", "password": "senha-da-ana"}).status_code == 403  # CSRF
    assert desk.login(client, "emp") == 303
    listing = client.get("/staff/")
    assert listing.status_code == 200
    assert "default-src 'none'" in listing.headers["content-security-policy"]
    assert listing.headers["x-frame-options"] == "DENY"


def test_employee_sees_only_own_deals(desk: Desk) -> None:
    client = desk.client("emp")
    text = client.get("/staff/").text
    assert desk.mine.id in text and desk.other.id not in text
    denied = client.get(f"/staff/documents/{desk.other.id}")
    assert denied.status_code == 403
    assert "Acesso negado" in denied.text
    assert "Seu perfil não permite isto neste documento (falta o direito de ver documentos)." in denied.text
    assert client.get(f"/staff/documents/{desk.other.id}/files/company_signed").status_code == 403
    page = client.get(f"/staff/documents/{desk.mine.id}")
    assert page.status_code == 200 and "Assinado pela empresa" in page.text
    assert client.get(f"/staff/documents/{desk.mine.id}/files/company_signed").content.startswith(b"%PDF")
    assert client.get(f"/staff/documents/{desk.mine.id}/files/secret").status_code == 409
    assert client.get("/staff/documents/DOC-NOPE").status_code == 403  # existence is not revealed


def test_refused_actions_are_told_in_portuguese(desk: Desk) -> None:
    client = desk.client("emp")
    for action in ("cancel", "resend", "extend"):
        response = desk.post(client, f"/staff/documents/{desk.other.id}/{action}")
        assert response.status_code == 403 and "Seu perfil não permite" in response.text
    assert desk.pipe.ws.ledger.get(desk.other.id).stage is Stage.SENT
    assert client.post(f"/staff/documents/{desk.mine.id}/cancel", data={}).status_code == 403  # no CSRF
    too_long = desk.post(client, f"/staff/documents/{desk.mine.id}/extend", {"days": "500"})
    assert too_long.status_code == 409
    assert "Prorrogue de 1 a 90 dias, não “500”." in too_long.text
    unknown = desk.post(client, f"/staff/documents/{desk.mine.id}/fly")
    assert unknown.status_code == 409 and "Ação desconhecida “fly”." in unknown.text


def test_logout_and_tampered_session(desk: Desk) -> None:
    client = desk.client("emp")
    cookie = client.cookies.get("esign_staff")
    assert cookie
    assert desk.post(client, "/staff/logout").status_code == 303
    assert client.get("/staff/").status_code == 303
    client.cookies.set("esign_staff", cookie.replace("emp|", "dir|"), path="/staff")
    assert client.get("/staff/").status_code == 303


def test_unknown_pages_and_unexpected_errors_are_pages_in_portuguese(desk: Desk,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    client = desk.client("dir")
    missing = client.get("/staff/nada-aqui")
    assert missing.status_code == 404 and "Página não encontrada" in missing.text
    assert client.get("/staff/logout").status_code == 405  # a POST-only address asked with GET: a page too
    assert "Não foi possível" in client.get("/staff/logout").text
    assert client.get("/staff/api/nada").json() == {"error": "not_found"}

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("esign.register.pages.rows_for", broken)
    tolerant = TestClient(create_register_app(desk.services), follow_redirects=False, raise_server_exceptions=False)
    desk.clients.append(tolerant)
    assert desk.login(tolerant, "dir") == 303
    failed = tolerant.get("/staff/")
    assert failed.status_code == 500 and "Algo deu errado" in failed.text and "disk on fire" not in failed.text
    assert "default-src 'none'" in failed.headers["content-security-policy"]
