"""A pipeline that has sent its documents (one completed), three staff users, and an HTTP client per user.

Documents come from a real ``esign_send`` over the seeded embedded CRM (a run named the way Airflow names a
manual run), mail goes to a real SMTP server on loopback, and the register is the real app.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi.testclient import TestClient

from esign.access import AccessStore
from esign.model import Stage
from esign.pipeline import collect
from esign.pipeline.services import Services
from esign.register.app import create_register_app
from esign.store import DocumentRecord
from tests.pipeline.conftest import Pipe, client_signs, pipe, run_send  # noqa: F401
from tests.security.conftest import csrf_of

RUN_ID = "manual__2026-12-04T18:11:01.682221+00:00"
PASSWORDS = {"emp": "senha-da-ana", "dir": "senha-da-maria", "leitor": "senha-do-leitor"}


@dataclass
class Desk:
    """The register over a pipeline: ``mine`` is Ana's (Employee) document, ``other`` another manager's,
    ``done`` a completed one; Maria is a Director (every right), the reader an Analyst (view only)."""

    pipe: Pipe
    mine: DocumentRecord
    other: DocumentRecord
    done: DocumentRecord
    store: AccessStore
    clients: list[TestClient] = field(default_factory=list)

    @property
    def services(self) -> Services:
        return self.pipe.services

    def client(self, user: str | None = None, services: Services | None = None) -> TestClient:
        client = TestClient(create_register_app(services or self.services), follow_redirects=False)
        self.clients.append(client)
        if user is not None:
            assert self.login(client, user) == 303
        return client

    def login(self, client: TestClient, user: str, password: str | None = None) -> int:
        page = client.get("/staff/login")
        return client.post("/staff/login", data={"login": user, "password": password or PASSWORDS[user],
                                                 "csrf": csrf_of(page.text)}).status_code

    def post(self, client: TestClient, path: str, data: dict[str, object] | None = None,
             page: str = "/staff/") -> httpx.Response:
        """A form POST with the CSRF token of ``page``."""
        return client.post(path, data={"csrf": csrf_of(client.get(page).text), **(data or {})})

    def sent(self) -> list[DocumentRecord]:
        return self.pipe.ws.ledger.list_by_stage(Stage.SENT)


@pytest.fixture
def desk(pipe: Pipe) -> Iterator[Desk]:  # noqa: F811
    run_send(pipe.services, RUN_ID)
    sent = pipe.ws.ledger.list_by_stage(Stage.SENT)
    done = sent[-1]
    client_signs(pipe.services, done.id)
    collect.finalize_documents(pipe.services, [done.id])
    mine = sent[0]
    other = next(r for r in sent[1:-1] if r.manager_id != mine.manager_id)
    store = AccessStore(pipe.ws.engine)
    store.ensure_default_roles()
    store.add_user("emp", name="Ana", manager_id=mine.manager_id, roles=("Employee",), password=PASSWORDS["emp"])
    store.add_user("dir", name="Maria", roles=("Director",), password=PASSWORDS["dir"])
    store.add_user("leitor", name="Leitor", roles=("Analyst",), password=PASSWORDS["leitor"])
    desk = Desk(pipe, mine, other, pipe.ws.ledger.get(done.id), store)
    yield desk
    for client in desk.clients:
        client.close()

