"""Fixtures for the signing-request service: a controllable clock, a code recorder and a sent document."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from esign.model import Stage
from esign.requests import SigningRequest, SigningRequests
from esign.store import EventInfo, Ledger, sha256_hex
from tests.support import Clock, CodeRecorder, make_pdf


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def clocked_ledger(engine: Engine, clock: Clock) -> Ledger:
    return Ledger(engine, clock=clock)


@pytest.fixture
def recorder() -> CodeRecorder:
    return CodeRecorder()


@pytest.fixture
def service(engine: Engine, clocked_ledger: Ledger, clock: Clock) -> SigningRequests:
    return SigningRequests(engine, clocked_ledger, secrets.token_bytes(32), clock=clock)


@pytest.fixture
def sent_document(clocked_ledger: Ledger, tmp_path: Path) -> Callable[..., str]:
    """Creates a company-signed PDF document and moves it to ``sent``; returns its id."""
    counter = iter(range(1, 1000))

    def create(title: str = "Contrato de serviços") -> str:
        doc, _ = clocked_ledger.create_document(deal_id=str(next(counter)), template_id="contrato", title=title,
                                                counterparty_name="Cliente Ltda", counterparty_tax_id="123")
        pdf = tmp_path / "documents" / f"{doc.id}.pdf"
        pdf.parent.mkdir(parents=True, exist_ok=True)
        data = make_pdf(pdf)
        clocked_ledger.move(doc.id, Stage.COMPANY_SIGNED, "company_signed", EventInfo(actor="Diretora"))
        clocked_ledger.add_version(doc.id, "company_signed", sha256=sha256_hex(data), path=str(pdf), size=len(data))
        clocked_ledger.move(doc.id, Stage.SENT, "sent", EventInfo(actor="pipeline", channel="sms"))
        return doc.id

    return create


@pytest.fixture
def request_(service: SigningRequests, sent_document: Callable[..., str], clock: Clock) -> SigningRequest:
    return service.create(sent_document(), "sms", "+55 11 98765-4321", clock.now + timedelta(days=14))
