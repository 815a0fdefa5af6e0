"""The staff register over HTTP: log in, see only what the rights reach, act only where permitted, CSRF."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from esign.access import AccessStore
from esign.model import Stage
from esign.register.app import create_register_app
from esign.store import DocumentRecord
from tests.pipeline.conftest import Pipe, pipe, run_send  # noqa: F401


@dataclass
class Staff:
    pipe: Pipe
    mine: DocumentRecord
    other: DocumentRecord
    token: str

    def client(self) -> TestClient:
        return TestClient(create_register_app(self.pipe.services), follow_redirects=False)


@pytest.fixture
def staff(pipe: Pipe) -> Staff:  # noqa: F811
    run_send(pipe.services, "run-reg")
    sent = pipe.ws.ledger.list_by_stage(Stage.SENT)
    mine = sent[0]
    other = next(r for r in sent if r.manager_id != mine.manager_id)
    store = AccessStore(pipe.ws.engine)
    store.ensure_default_roles()
    store.add_user("emp", name="Ana", manager_id=mine.manager_id, roles=("Employee",), password="senha-da-ana")
    store.add_user("dir", name="Maria", roles=("Director",), password="senha-da-maria")
    return Staff(pipe, mine, other, store.issue_token("emp"))


def _csrf(client: TestClient, path: str = "/staff/login") -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get(path).text)
    assert match
    return match.group(1)


def login(client: TestClient, user: str, password: str) -> int:
    return client.post("/staff/login", data={"login": user, "password": password,
                                             "csrf": _csrf(client)}).status_code


def test_login_required_and_wrong_password(staff: Staff) -> None:
    client = staff.client()
    assert client.get("/staff/").headers["location"] == "/staff/login"
    assert client.get("/staff/api/documents").status_code == 401
    assert login(client, "emp", "errada-123") == 401
    assert client.post("/staff/login", data={"login": "emp", "password": "senha-da-ana"}).status_code == 403  # CSRF
    assert login(client, "emp", "senha-da-ana") == 303
    page = client.get("/staff/")
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


def test_employee_sees_only_own_deals(staff: Staff) -> None:
    client = staff.client()
    login(client, "emp", "senha-da-ana")
    text = client.get("/staff/").text
    assert staff.mine.id in text and staff.other.id not in text
    assert client.get(f"/staff/documents/{staff.other.id}").status_code == 403
    assert client.get(f"/staff/documents/{staff.other.id}/files/company_signed").status_code == 403
    page = client.get(f"/staff/documents/{staff.mine.id}")
    assert page.status_code == 200 and "company_signed" in page.text
    assert client.get(f"/staff/documents/{staff.mine.id}/files/company_signed").content.startswith(b"%PDF")
    assert client.get(f"/staff/documents/{staff.mine.id}/files/secret").status_code == 409
    assert client.get("/staff/documents/DOC-NOPE").status_code == 403  # existence is not revealed


def test_filters(staff: Staff) -> None:
    client = staff.client()
    login(client, "dir", "senha-da-maria")
    assert staff.other.id in client.get("/staff/").text
    only = client.get("/staff/", params={"deal": staff.mine.deal_id}).text
    assert staff.mine.id in only and staff.other.id not in only
    name = staff.mine.counterparty_name.split()[0].lower()
    assert staff.mine.id in client.get("/staff/", params={"counterparty": name}).text
    assert staff.mine.id not in client.get("/staff/", params={"stage": "completed"}).text
    assert staff.mine.id in client.get("/staff/", params={"batch": staff.mine.batch_id}).text
    assert staff.mine.id not in client.get("/staff/", params={"to": "2000-01-01"}).text
    assert staff.mine.id in client.get("/staff/", params={"from": "2000-01-01", "template": staff.mine.template_id,
                                                          "manager": staff.mine.manager_id}).text


def test_actions_checked_and_recorded(staff: Staff) -> None:
    client = staff.client()
    login(client, "emp", "senha-da-ana")
    token = _csrf(client, "/staff/")
    ledger = staff.pipe.ws.ledger
    for action in ("cancel", "resend", "extend"):
        assert client.post(f"/staff/documents/{staff.other.id}/{action}", data={"csrf": token}).status_code == 403
    assert ledger.get(staff.other.id).stage is Stage.SENT
    assert client.post(f"/staff/documents/{staff.mine.id}/cancel", data={}).status_code == 403  # no CSRF
    assert client.post(f"/staff/documents/{staff.mine.id}/extend",
                       data={"csrf": token, "days": "500"}).status_code == 409
    assert client.post(f"/staff/documents/{staff.mine.id}/fly", data={"csrf": token}).status_code == 409
    for action, data in (("extend", {"days": "5"}), ("resend", {}), ("cancel", {"reason": "desistiu"})):
        response = client.post(f"/staff/documents/{staff.mine.id}/{action}", data={"csrf": token, **data})
        assert response.status_code == 303
    assert ledger.get(staff.mine.id).stage is Stage.CANCELED
    events = {e.action: e for e in ledger.events(staff.mine.id)}
    assert events["canceled"].actor == "Ana (emp)" and events["canceled"].detail == "desistiu"
    assert {"expiry_extended", "resend_queued"} <= set(events)
    again = client.post(f"/staff/documents/{staff.mine.id}/cancel", data={"csrf": token})
    assert again.status_code == 409 and "can no longer be canceled" in again.text


def test_bulk_zip_only_visible_signed(staff: Staff) -> None:
    client = staff.client()
    login(client, "emp", "senha-da-ana")
    token = _csrf(client, "/staff/")
    assert client.post("/staff/download.zip", data={"csrf": token}).status_code == 409
    response = client.post("/staff/download.zip", data={"csrf": token, "doc": [staff.mine.id, staff.other.id]})
    assert response.status_code == 200 and response.headers["x-skipped"] == "2"  # no final PDF yet; other refused
    assert zipfile.ZipFile(io.BytesIO(response.content)).namelist() == []


def test_api_token(staff: Staff) -> None:
    client = staff.client()
    rows = client.get("/staff/api/documents", headers={"Authorization": f"Bearer {staff.token}"}).json()
    assert {r["id"] for r in rows} and all(r["manager_id"] == staff.mine.manager_id for r in rows)
    assert client.get("/staff/api/documents", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_logout_and_tampered_session(staff: Staff) -> None:
    client = staff.client()
    login(client, "emp", "senha-da-ana")
    cookie = client.cookies.get("esign_staff")
    assert cookie
    assert client.post("/staff/logout", data={"csrf": _csrf(client, "/staff/")}).status_code == 303
    assert client.get("/staff/").status_code == 303
    client.cookies.set("esign_staff", cookie.replace("emp|", "dir|"), path="/staff")
    assert client.get("/staff/").status_code == 303
