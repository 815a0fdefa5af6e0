"""Fixtures for the portal: the real app over a real SQLite ledger, a hand-moved clock and a code recorder."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from esign.model import Stage
from esign.portal.app import create_app
from esign.portal.services import PortalServices, PortalSettings, VerifyFn
from esign.requests import SigningRequest, SigningRequests
from esign.store import EventInfo, Ledger, sha256_hex
from esign.verify import verify_pdf
from tests.support import Clock, CodeRecorder, make_pdf

COMPANY = "Acme Serviços Ltda"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


@dataclass
class Env:
    """One portal under test: its parts and a way to open a fresh signing link."""

    ledger: Ledger
    requests: SigningRequests
    recorder: CodeRecorder
    clock: Clock
    settings: PortalSettings
    documents_dir: Path
    new_link: Callable[..., tuple[str, SigningRequest]]
    make_app: Callable[..., FastAPI]
    make_pdf: Callable[..., bytes] = make_pdf


@pytest.fixture
def env(engine: Engine, tmp_path: Path) -> Env:
    clock = Clock()
    ledger = Ledger(engine, clock=clock)
    service = SigningRequests(engine, ledger, secrets.token_bytes(32), clock=clock)
    recorder = CodeRecorder()
    documents_dir = tmp_path / "documents"
    documents_dir.mkdir()
    settings = PortalSettings(public_url="http://testserver", documents_dir=documents_dir,
                              cache_dir=tmp_path / "cache", company_name=COMPANY)
    counter = iter(range(1, 1000))

    def new_link(title: str = "Contrato de serviços", pages: int = 2) -> tuple[str, SigningRequest]:
        doc, _ = ledger.create_document(deal_id=str(next(counter)), template_id="contrato", title=title,
                                        counterparty_name="Cliente Ltda", counterparty_tax_id="123")
        data = make_pdf(documents_dir / f"{doc.id}.pdf", pages)
        ledger.move(doc.id, Stage.COMPANY_SIGNED, "company_signed", EventInfo(actor="Maria Diretora"))
        # a path relative to the documents folder, as the pipeline stores it
        ledger.add_version(doc.id, "company_signed", sha256=sha256_hex(data), path=f"{doc.id}.pdf", size=len(data))
        ledger.move(doc.id, Stage.SENT, "sent", EventInfo(actor="pipeline", channel="sms"))
        request = service.create(doc.id, "sms", "+55 11 98765-4321", clock.now + timedelta(days=14))
        return service.token_for(request), request

    def make_app(verify: VerifyFn = verify_pdf, after_answer: Callable[[str], object] | None = None,
                 **overrides: object) -> FastAPI:
        portal_settings = replace(settings, **overrides)  # type: ignore[arg-type]
        return create_app(PortalServices(ledger=ledger, requests=service, sender=recorder,
                                         settings=portal_settings, verify=verify, after_answer=after_answer))

    return Env(ledger, service, recorder, clock, settings, documents_dir, new_link, make_app)


@pytest.fixture
def client(env: Env) -> TestClient:
    return TestClient(env.make_app())
