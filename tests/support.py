"""Builders shared by tests of several areas (importable as ``tests.support``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from esign.model import ClientEvidence, Deal, LineItem, Manager, Party, Stage
from esign.requests.records import SigningRequest
from esign.workspace import Workspace

PROJECT_DIR = Path(__file__).resolve().parent.parent
TEST_PASSPHRASE = b"test-passphrase-not-a-secret"


def make_deal(deal_id: str = "101", **changes: object) -> Deal:
    """A valid Brazilian service deal; ``changes`` replace fields (``counterparty`` a Party)."""
    counterparty = Party(
        name="Construtora São João Ltda.", tax_id="11.222.333/0001-81",
        address="Rua das Acácias, 45, Centro, Belo Horizonte - MG, 30110-000",
        representative="Mariana Araújo Gonçalves", representative_title="Sócia-administradora",
        email="mariana.goncalves@saojoao.example.com.br", phone="+5531987654321",
    )
    values: dict[str, object] = {
        "id": deal_id, "title": "Contrato de manutenção predial", "amount": Decimal("12345.67"), "currency": "BRL",
        "counterparty": counterparty, "stage_id": "C1:PREPARATION", "category_id": "1",
        "line_items": (LineItem("Manutenção preventiva mensal", Decimal("12"), Decimal("850.00")),
                       LineItem("Visita técnica emergencial", Decimal("3"), Decimal("715.22"))),
        "manager": Manager(id="5", name="Paulo Lima", email="paulo@aurora.example", department="Vendas SP"),
    }
    values.update(changes)
    return Deal(**values)  # type: ignore[arg-type]


def sample_evidence(name: str = "Mariana Araújo Gonçalves") -> ClientEvidence:
    at = datetime(2026, 11, 28, 14, 3, tzinfo=UTC)
    return ClientEvidence(signer_name=name, signed_at=at, channel="sms", masked_destination="+55 31 9****-4321",
                          code_verified_at=at, ip="203.0.113.7", typed_name=name,
                          user_agent="Mozilla/5.0 (Linux; Android 14) Mobile Safari/537.36")


def complete_document(ws: Workspace, deal: Deal) -> str:
    """Run the whole core for one deal: prepare, company-sign, client signs, finalize. Returns the ID."""
    from esign.core.documents import company_sign_document, finalize_signed_document, prepare_document
    from esign.store import EventInfo

    record, _ = prepare_document(ws, deal, "contrato_servicos")
    assert record.stage is Stage.DRAFT, record.reason
    company_sign_document(ws, record.id, approved_by="director")
    ws.ledger.move(record.id, Stage.SENT, "sent", EventInfo(actor="pipeline", channel="sms"))
    ws.ledger.move(record.id, Stage.CLIENT_SIGNED, "client_signed",
                   EventInfo(actor="client", channel="sms", ip="203.0.113.7", user_agent="Mobile"))
    finalize_signed_document(ws, record.id, sample_evidence())
    return record.id



class Clock:
    """A clock the test moves by hand, so 5-minute windows and expiries are tested without sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class CodeRecorder:
    """The other side of the CodeSender protocol: keeps the codes that would go out by email/SMS."""

    sent: list[tuple[str, str, int]] = field(default_factory=list)  # (request id, code, sequence)
    intents: list[str] = field(default_factory=list)  # what each code was asked for (sign, decline)
    fail: bool = False

    def send_code(self, request: SigningRequest, code: str, sequence: int, intent: str = "sign") -> None:
        if self.fail:
            raise ConnectionError("SMS gateway down")
        self.sent.append((request.id, code, sequence))
        self.intents.append(intent)

    @property
    def last_code(self) -> str:
        return self.sent[-1][1]


def send_after_plan(services: Any, run_id: str, batches: list[dict[str, Any]], approver: str) -> None:
    """esign_send after ``plan``, in DAG order without Airflow: what a (re-)run or a retry of every task does."""
    from esign.pipeline import send

    for batch in batches:
        send.prepare_batch(services, batch)
    send.approve_run(services, run_id, approver)
    for batch in batches:
        send.deliver_batch(services, batch)


def make_pdf(path: Path, pages: int = 2, text: str = "Contrato de prestação de serviços") -> bytes:
    """A small plain PDF written to ``path`` (a stand-in for a company-signed document)."""
    c = canvas.Canvas(str(path), pagesize=A4)
    for n in range(1, pages + 1):
        c.drawString(72, 760, f"{text} — página {n}")
        c.showPage()
    c.save()
    return path.read_bytes()
