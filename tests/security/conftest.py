"""A portal over a real SQLite ledger with prepared links (the load script's builder), a staff register, and
``serve``: an app under uvicorn on loopback, configured as ``esign portal`` runs it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from bench.load_portal import Link, MemoryCodes, build_portal
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import ASGIApp

from esign.access import AccessStore
from esign.config import Settings
from esign.demo.servers import PortalServer
from esign.dispatch.mailserver import LocalMailServer
from esign.portal.app import create_app
from esign.portal.services import PortalServices
from tests.pipeline.conftest import Pipe, make_pipe

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port, configured as ``esign portal`` runs it; yields its URL."""
    with PortalServer(app) as server:
        yield server.url


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


@dataclass
class Portal:
    services: PortalServices
    links: list[Link]
    codes: MemoryCodes

    def app(self, **settings: object) -> FastAPI:
        """The portal app; ``settings`` override PortalSettings (public_url, limits)."""
        return create_app(replace(self.services, settings=replace(self.services.settings, **settings)))  # type: ignore[arg-type]

    def client(self, **settings: object) -> TestClient:
        base = "https://testserver" if str(settings.get("public_url", "")).startswith("https") else "http://testserver"
        return TestClient(self.app(**settings), base_url=base, follow_redirects=False)

    def confirm(self, client: TestClient, link: Link, intent: str = "sign") -> str:
        """Open the link, ask for a code and type it; returns the CSRF token of the sign/decline page."""
        page = client.get(f"/s/{link.token}")
        assert page.status_code == 200
        code = client.post(f"/s/{link.token}/code", data={"csrf": csrf_of(page.text), "intent": intent})
        assert code.status_code == 200, code.text
        step = client.post(f"/s/{link.token}/verify", data={"csrf": csrf_of(code.text), "intent": intent,
                                                             "code": self.codes.codes[link.request_id]})
        assert step.status_code == 200, step.text
        return csrf_of(step.text)


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    services, links, codes = build_portal(tmp_path, 8)
    services = replace(services, settings=replace(services.settings, public_url="http://testserver",
                                                  uploads_per_minute=10, code_posts_per_minute=30))
    yield Portal(services, links, codes)
    services.ledger.engine.dispose()


@dataclass
class Staff:
    pipe: Pipe

    def client(self, *, secure: bool = False, logins_per_minute: int = 10) -> TestClient:
        from esign.register.app import create_register_app

        app = create_register_app(self.pipe.services, secure_cookies=secure, logins_per_minute=logins_per_minute)
        return TestClient(app, base_url="https://testserver" if secure else "http://testserver",
                          follow_redirects=False)

    def login(self, client: TestClient, user: str = "dir", password: str = "senha-da-maria") -> int:
        page = client.get("/staff/login")
        return client.post("/staff/login", data={"login": user, "password": password,
                                                 "csrf": csrf_of(page.text)}).status_code


@pytest.fixture(scope="module")
def staff(tmp_path_factory: pytest.TempPathFactory, core_settings: Settings) -> Iterator[Staff]:
    """A register over a pipeline ledger with no deals sent (documents are added by the tests)."""
    tmp = tmp_path_factory.mktemp("staff")
    with LocalMailServer(tmp / "mail") as mail:
        pipe = make_pipe(tmp, core_settings, 1, mail)
        store = AccessStore(pipe.ws.engine)
        store.ensure_default_roles()
        store.add_user("dir", name="Maria", roles=("Director",), password="senha-da-maria")
        yield Staff(pipe)
