"""The staff register in headless Chromium: log in, list, filter, open a document, a forbidden action refused."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from playwright.sync_api import Browser, expect

from esign.access import AccessStore
from esign.model import Stage
from esign.register.app import create_register_app
from tests.browser.conftest import browser, playwright  # noqa: F401
from tests.pipeline.conftest import Pipe, pipe, run_send  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def register_url(pipe: Pipe) -> Iterator[str]:  # noqa: F811
    run_send(pipe.services, "run-browser")
    store = AccessStore(pipe.ws.engine)
    store.ensure_default_roles()
    store.add_user("leitor", name="Leitor", roles=("Analyst",), password="senha-do-leitor")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_register_app(pipe.services), log_level="warning",
                                           access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/staff"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_list_filter_open_and_forbidden_cancel(register_url: str, browser: Browser, pipe: Pipe) -> None:  # noqa: F811
    doc = pipe.ws.ledger.list_by_stage(Stage.SENT)[0]
    page = browser.new_page()
    page.goto(f"{register_url}/")
    expect(page).to_have_url(f"{register_url}/login")
    page.fill("input[name=login]", "leitor")
    page.fill("input[name=password]", "senha-do-leitor")
    page.click("button[type=submit]")
    expect(page.locator("#documents tbody tr[data-id]")).not_to_have_count(0)
    page.fill("input[name=deal]", doc.deal_id)
    page.click("form.filters button[type=submit]")
    rows = page.locator("#documents tbody tr[data-id]")
    expect(rows).to_have_count(1)
    page.click(f"text={doc.id}")
    expect(page.locator("#doc-id")).to_have_text(doc.id)
    expect(page.locator("#events")).to_contain_text("company_signed")
    page.click("#cancel")
    expect(page.locator("h1")).to_have_text("Acesso negado")
    expect(page.locator("[role=alert]")).to_contain_text("leitor lacks the right documents.cancel")
    assert pipe.ws.ledger.get(doc.id).stage is Stage.SENT
    page.close()
