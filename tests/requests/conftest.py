"""Fixtures for the signing-request service: a controllable clock, a code recorder and a sent document."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from sqlalchemy import Engine

from esign.model import Stage
from esign.requests import SigningRequest, SigningRequests
from esign.store import EventInfo, Ledger, sha256_hex


class Clock:
    """A clock the test moves by hand, so 5-minute windows are tested without sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class CodeRecorder:
    """The other side of the CodeSender protocol: keeps what would have been sent by email/SMS."""

    sent: list[tuple[str, str, int]] = field(default_factory=list)  # (request id, code, sequence)
    fail: bool = False

    def send_code(self, request: SigningRequest, code: str, sequence: int) -> None:
        if self.fail:
            raise ConnectionError("SMS gateway down")
        self.sent.append((request.id, code, sequence))

    @property
    def last_code(self) -> str:
        return self.sent[-1][1]


def make_pdf(path: Path, pages: int = 2) -> bytes:
    c = canvas.Canvas(str(path), pagesize=A4)
    for n in range(1, pages + 1):
        c.drawString(72, 760, f"Contrato de prestação de serviços — página {n}")
        c.showPage()
    c.save()
    return path.read_bytes()


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
