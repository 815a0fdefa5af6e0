"""What the benchmark runs inside pool workers besides the pipeline's own steps: clients, and the primitive bound.

Each function takes the worker's Services (built once per worker) and a small picklable argument, like a step.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from esign.core.batch_finalize import completion_info
from esign.dispatch.email import SmtpSender, build_invite
from esign.model import ClientEvidence, Deal, SignatureSlot, Stage
from esign.pipeline import send
from esign.pipeline.services import Services
from esign.render import render_document
from esign.requests.records import SigningRequest
from esign.signing import CompletionInfo, company_sign, finalize_document
from esign.validate import validate_deal
from esign.verify import verify_pdf

CLIENT_IP, CLIENT_UA = "198.51.100.4", "Mozilla/5.0 (Linux; Android 14) Mobile Safari/537.36 (bench)"
#: One client in this many declines; the others sign (every one of them, so collect has the whole run to do).
DECLINE_EVERY = 20


class _CodeRecorder:
    """The client's phone: keeps the code it was sent (the portal would send it by SMS or e-mail)."""

    def __init__(self) -> None:
        self.code = ""

    def send_code(self, request: SigningRequest, code: str, sequence: int, intent: str = "sign") -> None:
        self.code = code


def clients_answer(services: Services, batch: dict[str, Any]) -> dict[str, int]:
    """Every client of the batch asks for a code, types it, and signs (one in DECLINE_EVERY declines)."""
    requests, counts = services.requests, {"signed": 0, "declined": 0}
    for record in services.ws.ledger.list_batch(str(batch["batch_id"]), [Stage.SENT]):
        request = requests.for_document(record.id)
        if request is None:
            continue
        phone = _CodeRecorder()
        requests.issue_code(request, phone, CLIENT_IP, CLIENT_UA)
        requests.check_code(request, phone.code, CLIENT_IP, CLIENT_UA)
        if int(record.deal_id) % DECLINE_EVERY == 0:
            requests.decline(request, "Valores em desacordo com a proposta", CLIENT_IP, CLIENT_UA)
            counts["declined"] += 1
        else:
            requests.sign(request, record.counterparty_name or "Cliente", None, True, CLIENT_IP, CLIENT_UA)
            counts["signed"] += 1
    return counts


def deliver_batch(services: Services, batch: dict[str, Any]) -> dict[str, int]:
    """The send DAG's ``deliver`` task (``send.deliver_batch``: sign -> dispatch -> CRM awaiting) on one batch,
    its counts flattened to ``<step>.<count>`` for the pool's totals."""
    return {f"{step}.{key}": value for step, counts in send.deliver_batch(services, batch).items()
            for key, value in counts.items()}


def bound_deals(services: Services, count: int) -> list[Deal]:
    """``count`` valid deals of the run's trigger stage (read before the chain moves them): the bound renders
    the deals the pipeline does, whose line items make a contract slower to lay out than a test deal's."""
    stage = services.config.stages.trigger
    ids = list(services.crm.iter_deal_ids(stage, limit=count + count // 4 + 10))  # some are broken on purpose
    if not ids:
        raise SystemExit(f"bench: no deals in stage {stage} to measure the bound with")
    fetched = services.crm.fetch_deals(stage, ids[0], ids[-1])
    return [f.deal for f in fetched if not f.problems and not validate_deal(f.deal)][:count]


def bound_send(services: Services, arg: tuple[int, int, list[Deal], int]) -> dict[str, float]:
    """The send chain's primitives alone: render the same template for the given real deals, company-sign with
    the loaded key, and send a pre-built invitation over one SMTP session (to ``port``). No ledger, no files.
    Seconds spent per primitive."""
    first, count, deals, port = arg
    ws, company = services.ws, services.ws.company
    template = ws.templates.get(services.config.template)
    spent = {"render": 0.0, "sign": 0.0, "send": 0.0, "docs": float(count)}
    signed_at = datetime.now(UTC).replace(microsecond=0)
    message = build_invite(services.email_templates, from_addr=services.smtp.from_addr, to="bound@example.com",
                           message_id="<bound@esign.local>", company_name=company.party.name,
                           document_title="Contrato", signer_name="Cliente", link="http://127.0.0.1/s/x",
                           expires_at=signed_at + timedelta(days=14), document_id="DOC-BOUND")
    with SmtpSender(replace(services.smtp, port=port)) as sender:
        for n in range(first, first + count):
            deal = deals[(n - first) % len(deals)]
            t0 = time.perf_counter()
            doc = render_document(template, company.party, deal, f"DOC-{n:016d}", signed_at)
            t1 = time.perf_counter()
            company_sign(doc.pdf, doc.slots, ws.sealer, signer_name=company.director_name,
                         signer_title=company.director_title, company_name=company.party.name, signed_at=signed_at)
            t2 = time.perf_counter()
            sender.send_raw("bound@example.com", message)
            t3 = time.perf_counter()
            spent["render"] += t1 - t0
            spent["sign"] += t2 - t1
            spent["send"] += t3 - t2
    return spent


#: One document as the sealing reads it: company-signed bytes, signature slots, the client's evidence, certificate.
#: (company-signed file, slots, the signers' evidence, certificate data)
SealInput = tuple[bytes, tuple[SignatureSlot, ...], ClientEvidence | Sequence[ClientEvidence], CompletionInfo]


def bound_seal_inputs(services: Services, limit: int) -> list[SealInput]:
    """Client-signed documents of the run, read as the sealing reads them (before the chain seals them): the
    bound seals the same files with the same audit trails and evidence, whose certificate takes longer to lay
    out than a synthetic one."""
    ws, bulk = services.ws, services.ws.ledger.bulk
    records = ws.ledger.list_by_stage(Stage.CLIENT_SIGNED, limit=limit)
    if not records:
        raise SystemExit("bench: no client-signed documents to measure the collect bound with")
    ids = [r.id for r in records]
    evidence, trails = services.requests.evidence_many(ids), bulk.events_for(ids)
    originals, signed = bulk.versions_for(ids, "rendered"), bulk.versions_for(ids, "company_signed")
    return [(ws.version_path("company_signed", r.id).read_bytes(), r.slots, evidence[r.id],
             completion_info(ws, r, evidence[r.id], originals[r.id], signed[r.id], trails.get(r.id, [])))
            for r in records]


def bound_collect(services: Services, arg: tuple[int, int, list[SealInput], None]) -> dict[str, float]:
    """The collect chain's primitives alone, on the given documents: client block + certificate + seal, then
    signature validation. No ledger, no files."""
    _first, count, inputs, _port = arg
    ws = services.ws
    spent = {"finalize": 0.0, "verify": 0.0, "docs": float(count)}
    for n in range(count):
        source, slots, evidence, info = inputs[n % len(inputs)]
        t0 = time.perf_counter()
        final = finalize_document(source, slots, evidence, info, ws.sealer)
        t1 = time.perf_counter()
        verify_pdf(final, None, ws.trust_roots)
        spent["finalize"] += t1 - t0
        spent["verify"] += time.perf_counter() - t1
    return spent
