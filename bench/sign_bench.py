"""Signing throughput on one core: company_sign (block + PAdES) and the PAdES step alone.

Usage: python bench/sign_bench.py [--docs 200] [--finalize]

Keys are generated in a temporary folder and loaded once, as a worker does; the PDFs are small
one-page contracts drawn with reportlab. Prints docs/s for each step (target: >= 50 docs/s for the
signature step).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from reportlab.pdfgen.canvas import Canvas

from esign.model import AuditEvent, ClientEvidence, Party, SignatureSlot
from esign.signing import CompletionInfo, PdfSealer, company_sign, finalize_document, init_keys, load_identity

SLOTS = (SignatureSlot("company", 0, 60, 80, 220, 64), SignatureSlot("client", 0, 310, 80, 230, 80))
AT = datetime(2026, 11, 28, 14, 3, tzinfo=UTC)


def small_pdf(n: int) -> bytes:
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(595.27, 841.89))
    c.setFont("Helvetica", 11)
    for i in range(30):
        c.drawString(72, 770 - i * 14, f"Contrato {n}: clausula {i + 1}, texto de exemplo.")
    c.showPage()
    c.save()
    return buf.getvalue()


def rate(label: str, count: int, seconds: float) -> None:
    print(f"{label:<42} {count} docs in {seconds:6.2f} s = {count / seconds:7.1f} docs/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--finalize", action="store_true", help="also time finalize_document")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as one worker process

    with tempfile.TemporaryDirectory() as tmp:
        passphrase = os.urandom(16).hex().encode()
        paths = init_keys(Path(tmp), passphrase, "Acme Serviços Ltda", "Maria Souza", "Diretora")
        start = time.perf_counter()
        sealer = PdfSealer(load_identity(paths.p12, passphrase, paths.ca_cert))
        print(f"identity loaded once in {time.perf_counter() - start:.3f} s "
              f"(bytes_reserved={sealer.bytes_reserved})")
    docs = [small_pdf(n) for n in range(args.docs)]
    company_sign(docs[0], SLOTS, sealer, signer_name="Maria Souza", signer_title="Diretora",
                 company_name="Acme Serviços Ltda", signed_at=AT)  # warm-up: fonts, caches

    start = time.perf_counter()
    for pdf in docs:
        sealer.sign(pdf, "esign_company", reason="Assinatura", location="", signer_name="Maria Souza",
                    signed_at=AT)
    rate("PAdES signature step alone (sealer.sign)", len(docs), time.perf_counter() - start)

    start = time.perf_counter()
    signed = [company_sign(pdf, SLOTS, sealer, signer_name="Maria Souza", signer_title="Diretora",
                           company_name="Acme Serviços Ltda", signed_at=AT) for pdf in docs]
    rate("company_sign (block + merge + PAdES)", len(docs), time.perf_counter() - start)

    if args.finalize:
        evidence = ClientEvidence(signer_name="João da Silva", signed_at=AT + timedelta(days=1), channel="sms",
                                  masked_destination="+55 11 9****-1234", code_verified_at=AT + timedelta(days=1),
                                  ip="203.0.113.9", user_agent="Mozilla/5.0 (iPhone) Safari/604.1")
        events = tuple(AuditEvent(at=AT + timedelta(minutes=i), action=a, channel="sms", ip="203.0.113.9")
                       for i, a in enumerate(("company_signed", "sent", "viewed", "code_verified", "client_signed")))
        start = time.perf_counter()
        for original, pdf in zip(docs, signed, strict=True):
            info = CompletionInfo(
                document_id="DOC-1", title="Contrato", company=Party("Acme Serviços Ltda", "12.345.678/0001-90"),
                counterparty=Party("João da Silva", "123.456.789-09"), company_signer_name="Maria Souza",
                company_signer_title="Diretora", company_signed_at=AT, events=events,
                sha256_original=hashlib.sha256(original).hexdigest(),
                sha256_company_signed=hashlib.sha256(pdf).hexdigest(), verify_url="https://example.com/v/DOC-1")
            finalize_document(pdf, SLOTS, evidence, info, sealer)
        rate("finalize_document (client + certificate + seal)", len(docs), time.perf_counter() - start)


if __name__ == "__main__":
    main()
