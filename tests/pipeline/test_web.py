"""One server routes clients to the portal and staff to the register."""

from __future__ import annotations

from starlette.testclient import TestClient

from esign.web import web_app
from tests.pipeline.conftest import Pipe


def test_paths_reach_the_right_app(pipe: Pipe) -> None:
    client = TestClient(web_app(pipe.services))
    assert client.get("/healthz").status_code == 200
    login = client.get("/staff/login")
    assert login.status_code == 200 and 'name="csrf"' in login.text and "password" in login.text
    assert client.get("/staff/", follow_redirects=False).status_code in (302, 303, 401)
    assert client.get("/s/not-a-token").status_code == 404
    assert client.get("/staffing").status_code == 404  # only the /staff prefix goes to the register
