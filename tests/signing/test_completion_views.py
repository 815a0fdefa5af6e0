"""The certificate of completion folds a client's repeated page loads into one line: 436 reloads are not 14 pages."""

from __future__ import annotations

import io
from datetime import timedelta

from pypdf import PdfReader

from esign.i18n import translator
from esign.model import AuditEvent, ClientEvidence, Party
from esign.signing import CompletionInfo
from esign.signing.completion import certificate_pdf

from .conftest import DOC_ID, SIGNED_AT

UA = "Mozilla/5.0 (Linux; Android 14) Mobile Safari/537.36"


def _info(events: tuple[AuditEvent, ...]) -> CompletionInfo:
    return CompletionInfo(
        document_id=DOC_ID, title="Contrato", company=Party("Acme Serviços Ltda", "12.345.678/0001-90"),
        counterparty=Party("João da Silva", "123.456.789-09"), company_signer_name="Maria Souza",
        company_signer_title="Diretora", company_signed_at=SIGNED_AT, events=events, sha256_original="a" * 64,
        sha256_company_signed="b" * 64, verify_url=f"https://esign.example.com/verify/{DOC_ID}")


def _view(minutes: float, ip: str = "203.0.113.7") -> AuditEvent:
    return AuditEvent(at=SIGNED_AT + timedelta(minutes=minutes), action="viewed", actor="client", channel="sms",
                      ip=ip, user_agent=UA)


def test_reloads_of_one_client_are_one_line_with_their_count_and_last_time() -> None:
    evidence = ClientEvidence(signer_name="João da Silva", signed_at=SIGNED_AT + timedelta(days=1), channel="sms",
                              masked_destination="+55 11 9****-1234", code_verified_at=SIGNED_AT + timedelta(days=1))
    reloads = tuple(_view(10 + i / 60) for i in range(436))
    other = _view(10 + 199.5 / 60, ip="198.51.100.9")  # another client in between: its own line, and the runs around it
    events = (AuditEvent(at=SIGNED_AT, action="company_signed", actor="Maria Souza"), *reloads[:200], other,
              *reloads[200:])
    pdf = certificate_pdf(_info(events), evidence)
    reader = PdfReader(io.BytesIO(pdf))
    flat = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert len(reader.pages) == 1, "one page, not one line per reload"
    assert flat.count("Aberto pelo cliente") == 3 and "198.51.100.9" in flat
    last = translator().format_datetime(SIGNED_AT + timedelta(minutes=10 + 435 / 60), seconds=True)
    assert "236 aberturas, a última em " + last in flat
    assert "200 aberturas" in flat
