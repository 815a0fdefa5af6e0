"""The register's web security over real HTTP (uvicorn on loopback, a real SMTP server): login lockout per
account, equal answers for unknown users, sessions and API tokens ended by logout, password change and
deactivation, resends limited per document even when two clicks race, downloads bound to ``parties.view``,
paging of the list and its API."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from esign.register.app import create_register_app
from tests.pipeline.conftest import pipe  # noqa: F401
from tests.register.conftest import PASSWORDS, Desk, csrf_of, desk  # noqa: F401
from tests.security.conftest import serve


@pytest.fixture
def site(desk: Desk) -> Iterator[str]:  # noqa: F811
    # the per-address limit (tested in test_proxies) is raised here: these tests are about accounts
    with serve(create_register_app(desk.services, logins_per_minute=1000)) as url:
        yield url


def _login(http: httpx.Client, user: str, password: str) -> httpx.Response:
    page = http.get("/staff/login")
    return http.post("/staff/login", data={"login": user, "password": password, "csrf": csrf_of(page.text)})


def test_lockout_per_account_and_the_same_for_unknown_logins(site: str) -> None:
    for login in ("emp", "ninguem"):
        with httpx.Client(base_url=site) as http:
            statuses = [_login(http, login, "errada-123").status_code for _ in range(5)]
            assert statuses == [401] * 5
            locked = _login(http, login, PASSWORDS.get(login, "errada-123"))
            assert locked.status_code == 429 and locked.headers["retry-after"] == "30"
            assert "Muitas senhas erradas para este login; aguarde 30 segundos" in locked.text
            assert "esign_staff" not in locked.headers.get("set-cookie", "")
    with httpx.Client(base_url=site) as http:  # other accounts are not affected
        assert _login(http, "dir", PASSWORDS["dir"]).status_code == 303


def test_logout_password_change_and_deactivation_end_sessions_and_tokens(desk: Desk, site: str) -> None:  # noqa: F811
    store = desk.store
    for end in ("logout", "password", "deactivate"):
        store.set_active("emp", True)
        token = store.issue_token("emp")
        with httpx.Client(base_url=site) as http, httpx.Client(base_url=site) as api:
            assert _login(http, "emp", PASSWORDS["emp"]).status_code == 303
            api.headers["Authorization"] = f"Bearer {token}"
            assert http.get("/staff/").status_code == 200 and api.get("/staff/api/documents").status_code == 200
            cookie = http.cookies.get("esign_staff")
            if end == "logout":
                assert http.post("/staff/logout", data={"csrf": csrf_of(http.get("/staff/").text)}).status_code == 303
            elif end == "password":
                store.set_password("emp", PASSWORDS["emp"])  # even the same password: a change is a change
            else:
                store.set_active("emp", False)
                store.set_active("emp", True)
            with httpx.Client(base_url=site, cookies={"esign_staff": cookie or ""}) as replay:
                assert replay.get("/staff/").status_code == 303, end  # the old cookie is dead
            assert api.get("/staff/api/documents").status_code == 401, end  # and so is the token


def test_two_racing_resend_clicks_send_one_message(desk: Desk, site: str) -> None:  # noqa: F811
    request = desk.services.requests.for_document(desk.mine.id)
    assert request is not None
    before = sum(1 for m in desk.pipe.messages() if request.destination in str(m.message["To"]))
    clients = [httpx.Client(base_url=site) for _ in range(2)]
    try:
        tokens = []
        for http in clients:
            assert _login(http, "emp", PASSWORDS["emp"]).status_code == 303
            tokens.append(csrf_of(http.get(f"/staff/documents/{desk.mine.id}").text))
        results: list[int] = []
        barrier = threading.Barrier(2)

        def click(http: httpx.Client, csrf: str) -> None:
            barrier.wait()
            results.append(http.post(f"/staff/documents/{desk.mine.id}/resend", data={"csrf": csrf}).status_code)

        threads = [threading.Thread(target=click, args=pair) for pair in zip(clients, tokens, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert results == [303, 303]
    finally:
        for http in clients:
            http.close()
    after = sum(1 for m in desk.pipe.messages() if request.destination in str(m.message["To"]))
    assert after == before + 1
    resends = [e for e in desk.services.outbox.entries(document_id=desk.mine.id) if e.dedupe_key.startswith("resend:")]
    assert len(resends) == 1


def test_downloads_and_paging_over_http(desk: Desk, site: str) -> None:  # noqa: F811
    with httpx.Client(base_url=site) as reader, httpx.Client(base_url=site) as director:
        assert _login(reader, "leitor", PASSWORDS["leitor"]).status_code == 303
        assert _login(director, "dir", PASSWORDS["dir"]).status_code == 303
        final = f"/staff/documents/{desk.done.id}/files/final"
        assert reader.get(final).status_code == 403  # an Analyst lacks parties.view: no CPF/CNPJ in a PDF
        assert director.get(final).content.startswith(b"%PDF")
        first = director.get("/staff/api/documents", params={"per_page": "25"}).json()
        assert first["total"] == 12 and first["pages"] == 1 and first["next"] is None
        assert len(first["items"]) == 12
