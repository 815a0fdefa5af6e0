"""Fixtures for the browser tests: the real portal served by uvicorn on a loopback port, and headless Chromium."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from sqlalchemy import Engine

from esign.demo.servers import PortalServer
from esign.model import Stage
from esign.portal.app import create_app
from esign.portal.services import PortalServices, PortalSettings
from esign.requests import SigningRequest, SigningRequests
from esign.store import EventInfo, Ledger, sha256_hex
from esign.verify import verify_pdf
from tests.support import CodeRecorder

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@dataclass
class Site:
    base_url: str
    ledger: Ledger
    requests: SigningRequests
    recorder: CodeRecorder
    documents_dir: Path
    deals: int = 0

    def new_link(self, title: str = "Contrato de prestação de serviços") -> tuple[str, SigningRequest]:
        self.deals += 1
        doc, _ = self.ledger.create_document(deal_id=str(self.deals), template_id="contrato", title=title,
                                             counterparty_name="Cliente Ltda")
        path = self.documents_dir / f"{doc.id}.pdf"
        c = canvas.Canvas(str(path), pagesize=A4)
        for n in (1, 2):
            c.setFont("Helvetica-Bold", 16)
            c.drawString(72, 770, f"{title} — página {n}")
            c.setFont("Helvetica", 11)
            for line in range(30):
                c.drawString(72, 730 - line * 20, f"Cláusula {line + 1}. O contratado presta os serviços descritos.")
            c.showPage()
        c.save()
        data = path.read_bytes()
        self.ledger.move(doc.id, Stage.COMPANY_SIGNED, "company_signed", EventInfo(actor="Maria Diretora"))
        self.ledger.add_version(doc.id, "company_signed", sha256=sha256_hex(data), path=str(path), size=len(data))
        self.ledger.move(doc.id, Stage.SENT, "sent", EventInfo(actor="pipeline", channel="email"))
        request = self.requests.create(doc.id, "email", "ana.souza@example.com",
                                       datetime.now(UTC) + timedelta(days=14))
        return self.requests.link_for(request, self.base_url), request


@contextmanager
def serving(build: Callable[[str], Any]) -> Iterator[str]:
    """Serve the app ``build(base_url)`` returns under uvicorn on a loopback port; yields the base URL."""
    server = PortalServer()  # bound now: the app is built knowing its own address
    server.app = build(server.url)
    with server:
        yield server.url


@pytest.fixture
def site(engine: Engine, tmp_path: Path) -> Iterator[Site]:
    ledger = Ledger(engine)
    service = SigningRequests(engine, ledger, secrets.token_bytes(32))
    recorder = CodeRecorder()
    documents_dir = tmp_path / "documents"
    documents_dir.mkdir()

    def build(base_url: str) -> Any:
        settings = PortalSettings(public_url=base_url, documents_dir=documents_dir, cache_dir=tmp_path / "cache",
                                  company_name="Acme Serviços Ltda")
        return create_app(PortalServices(ledger=ledger, requests=service, sender=recorder, settings=settings,
                                         verify=verify_pdf))

    with serving(build) as base_url:
        yield Site(base_url, ledger, service, recorder, documents_dir)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
