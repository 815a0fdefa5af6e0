"""The certificate of completion in its reader's language: no English left in pt-BR, times in the company's zone.

The text is read with poppler's pdftotext, as a person's PDF reader would show it.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from datetime import timedelta

import pytest

from esign.model import AuditEvent, ClientEvidence, Party, SignerRole, SignerSpec
from esign.signing import CompletionInfo
from esign.signing.completion import certificate_pdf

from .conftest import DOC_ID, SIGNED_AT

UA = "Mozilla/5.0 (Linux; Android 14) Mobile Safari/537.36"
#: What the ledger records, as the demo writes it: system actors, English codes and details, old Portuguese ones.
EVENTS = (
    AuditEvent(at=SIGNED_AT - timedelta(minutes=5), action="created", actor="pipeline"),
    AuditEvent(at=SIGNED_AT, action="company_signed", actor="auto-approve (configuration)",
               detail="signed by Maria Souza"),
    AuditEvent(at=SIGNED_AT + timedelta(minutes=1), action="sent", actor="pipeline", channel="email",
               detail="enviado"),
    AuditEvent(at=SIGNED_AT + timedelta(hours=1), action="viewed", actor="client", channel="email",
               ip="203.0.113.7", user_agent=UA),
    AuditEvent(at=SIGNED_AT + timedelta(hours=1, minutes=1), action="code_sent", actor="client", channel="email",
               ip="203.0.113.7", user_agent=UA, detail="código #1 para j***@example.com"),
    AuditEvent(at=SIGNED_AT + timedelta(hours=1, minutes=2), action="code_failed", actor="client", channel="email",
               ip="203.0.113.7", user_agent=UA, detail="tentativa 1 de 5"),
    AuditEvent(at=SIGNED_AT + timedelta(hours=1, minutes=3), action="code_verified", actor="client",
               channel="email", ip="203.0.113.7", user_agent=UA, detail="j***@example.com"),
    AuditEvent(at=SIGNED_AT + timedelta(hours=1, minutes=4), action="client_signed", actor="client",
               channel="email", ip="203.0.113.7", user_agent=UA,
               detail="assinado por João da Silva (com assinatura desenhada)"),
    AuditEvent(at=SIGNED_AT + timedelta(hours=1, minutes=5), action="resend_queued", actor="Ana Ops",
               channel="staff", detail="#12"),
)
EVIDENCE = ClientEvidence(signer_name="João da Silva", signed_at=SIGNED_AT + timedelta(hours=1, minutes=4),
                          channel="email", masked_destination="j***@example.com",
                          code_verified_at=SIGNED_AT + timedelta(hours=1, minutes=3), ip="", user_agent="",
                          signer_tax_id="123.456.789-09")
#: English a pt-BR reader must not meet (the user agent, an English product string, is left out of the check).
ENGLISH = ("created", "company_signed", "code_sent", "code_failed", "code_verified", "client_signed", "pipeline",
           "auto-approve", "configuration", "signed by", "Signed", "Certificate", "Document ID", "Events",
           "Company", "Counterparty", "Client's", "not recorded", "sent", "viewed", "staff", "page ", "attempt",
           "Action", "Actor", "Date and time", "Integrity", "UTC ", "drawn")


def _text(locale: str, timezone: str = "America/Sao_Paulo",
          evidence: ClientEvidence | tuple[ClientEvidence, ...] = EVIDENCE,
          copies: tuple[SignerSpec, ...] = ()) -> str:
    info = CompletionInfo(
        document_id=DOC_ID, title="Contrato", company=Party("Acme Serviços Ltda", "12.345.678/0001-90"),
        counterparty=Party("João da Silva", "123.456.789-09"), company_signer_name="Maria Souza",
        company_signer_title="Diretora", company_signed_at=SIGNED_AT, events=EVENTS, sha256_original="a" * 64,
        sha256_company_signed="b" * 64, verify_url=f"https://esign.example.com/verify/{DOC_ID}", locale=locale,
        timezone=timezone, copies=copies)
    pdf = certificate_pdf(info, evidence)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True)
    return " ".join(out.stdout.decode().split()).replace(UA, "")


def test_pt_br_certificate_has_no_english_and_its_labels() -> None:
    text = _text("pt_BR")
    found = [word for word in ENGLISH if re.search(rf"(?<![\w-]){re.escape(word)}", text)]
    assert found == [], text
    for label in ("Certificado de conclusão", "ID do documento", "Contraparte", "Signatários", "Pela empresa",
                  "Documento criado", "Assinado pela empresa", "Aprovação automática (configuração)",
                  "assinado por Maria Souza", "Link enviado", "Aberto pelo cliente", "Código de confirmação enviado",
                  "código nº 1 para j***@example.com", "tentativa 1 de 5", "Assinado pelo cliente",
                  "assinado por João da Silva (com assinatura desenhada)", "Sistema", "Cliente", "Ana Ops", "Equipe",
                  "João da Silva (documento 123.456.789-09)", "IP do cliente não registrado",
                  "Certificado de conclusão, página 1"):
        assert label in text, label


def test_times_are_in_the_companys_zone_with_the_zone_shown() -> None:
    text = _text("pt_BR")
    assert "28/11/2026 11:03:00 (UTC-03:00)" in text  # SIGNED_AT is 14:03 UTC
    assert "14:03:00" not in text
    assert "28/11/2026 14:03:00 (UTC+00:00)" in _text("pt_BR", "UTC")


@pytest.mark.parametrize(("locale", "expected"), [
    ("es", ("Certificado de finalización", "Firmantes", "Aprobación automática", "firmado por Maria Souza")),
    ("en", ("Certificate of completion", "Signatories", "Automatic approval (configuration)",
            "signed by Maria Souza", "11/28/2026")),
])
def test_other_languages(locale: str, expected: tuple[str, ...]) -> None:
    text = _text(locale)
    for label in expected:
        assert label in text, label


COPY = SignerSpec(9, SignerRole.COPY, "Departamento Jurídico", email="juridico@example.com")
SEVERAL = (EVIDENCE,
           replace(EVIDENCE, signer_name="Pedro Gomes", signer_tax_id="286.255.878-87", position=2, slot="company_2",
                   ip="198.51.100.4", user_agent="Firefox/133.0"),
           replace(EVIDENCE, signer_name="Carlos Lima", signer_tax_id="390.533.447-05", position=3, role="witness",
                   slot="witness_1"))


def test_one_signer_with_a_copy_recipient() -> None:
    text = _text("pt_BR", copies=(COPY,))
    assert "Cliente João da Silva (documento 123.456.789-09) — assinatura eletrônica em" in text
    assert "Recebe cópia Departamento Jurídico — o documento assinado, enviado para j***@example.com" in text


def test_several_signers_have_a_section_each_in_the_readers_language() -> None:
    text = _text("pt_BR", evidence=SEVERAL, copies=(COPY,))
    found = [word for word in ENGLISH if re.search(rf"(?<![\w-]){re.escape(word)}", text)]
    assert found == [], text
    for label in ("Signatário 1 João da Silva (documento 123.456.789-09)",
                  "Segundo signatário da empresa Pedro Gomes (documento 286.255.878-87)",
                  "Testemunha 1 Carlos Lima (documento 390.533.447-05)", "Assinatura eletrônica assinado em",
                  "Endereço IP 198.51.100.4", "Navegador Firefox/133.0", "Recebe cópia Departamento Jurídico"):
        assert label in text, label
    spanish = _text("es", evidence=SEVERAL, copies=(COPY,))
    for label in ("Firmante 1", "Segundo firmante de la empresa", "Testigo 1", "Recibe copia"):
        assert label in spanish, label
