"""A document with two client signers and two witnesses, from rendering to the sealed final file.

Rendered with a block for each, company-signed, then finalized with the four signers' evidence: each name is in its
block, the certificate of completion has a section per signer and lists the copy recipient, the seal validates
(pdfsig, pyHanko through the verifier) and the verdict on the file is authentic.
"""

from __future__ import annotations

import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from esign.core.batch_documents import company_sign_documents, prepare_documents
from esign.core.batch_finalize import _counterparty, finalize_documents
from esign.model import ClientEvidence, SignatureSlot, SignerRole, SignerSpec, SigningOrder, Stage
from esign.model.signers import arrange, signer_label
from esign.store import DocumentRecord, EventInfo
from esign.verify import verify_pdf
from esign.workspace import Workspace
from tests.support import make_deal

TEMPLATE = "contrato_servicos"
AT = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
PEOPLE = (("Mariana Araújo Gonçalves", "52998224725", SignerRole.SIGNER),
          ("Rafael Teixeira Nunes", "11144477735", SignerRole.SIGNER),
          ("Carlos Eduardo Lima", "39053344705", SignerRole.WITNESS),
          ("Beatriz Costa Ramos", "15350946056", SignerRole.WITNESS))
CPFS = {"52998224725": "529.982.247-25", "11144477735": "111.444.777-35", "39053344705": "390.533.447-05",
        "15350946056": "153.509.460-56"}


def _signers(optional: tuple[str, ...] = ()) -> tuple[SignerSpec, ...]:
    people = [SignerSpec(n, role, name, tax_id, email=f"p{n}@example.com")
              for n, (name, tax_id, role) in enumerate(PEOPLE, start=1)]
    people.append(SignerSpec(9, SignerRole.COPY, "Departamento Jurídico", email="juridico@saojoao.example.com"))
    return arrange(people, SigningOrder.SEQUENTIAL, optional_roles=optional)


def _client_signed(ws: Workspace, deal_id: str, optional: tuple[str, ...] = ()) -> DocumentRecord:
    deal = make_deal(deal_id)
    party = deal.counterparty
    ws.ledger.create_document(deal_id=deal.id, template_id=TEMPLATE, title=deal.title,
                              counterparty_name=party.name, counterparty_tax_id=party.tax_id,
                              counterparty_email=party.email, counterparty_phone=party.phone,
                              counterparty_contact=party.representative, signers=_signers(optional))
    (prepared,) = prepare_documents(ws, [(deal, ())], TEMPLATE)  # renders the draft with its signers' blocks
    assert prepared.record is not None and prepared.record.stage is Stage.DRAFT, prepared
    assert company_sign_documents(ws, [prepared.record], approved_by="director").signed == [prepared.record.id]
    doc_id = prepared.record.id
    ws.ledger.move(doc_id, Stage.SENT, "sent", EventInfo(actor="pipeline", channel="email"))
    ws.ledger.move(doc_id, Stage.CLIENT_SIGNED, "client_signed", EventInfo(actor="client", channel="email"))
    return ws.ledger.get(doc_id)


def _evidence(record: DocumentRecord) -> tuple[ClientEvidence, ...]:
    out = []
    for n, spec in enumerate(s for s in record.signers if s.signs):
        at = AT + timedelta(hours=n)
        out.append(ClientEvidence(signer_name=spec.name, signed_at=at, channel="email",
                                  masked_destination="p***@example.com", code_verified_at=at - timedelta(minutes=1),
                                  ip=f"203.0.113.{10 + n}", user_agent=f"Navegador-{n}", typed_name=spec.name,
                                  # the CPF in digits, or none (the document's is printed)
                                  signer_tax_id=spec.tax_id if n % 2 else "", position=spec.position,
                                  role=spec.role.value, slot=spec.slot))
    return tuple(out)


def item_tax(record: DocumentRecord, item: ClientEvidence) -> str:
    return record.signer(item.position).tax_id


def _text(pdf: Path, *, page: int | None = None, slot: SignatureSlot | None = None) -> str:
    args = ["pdftotext", "-q", "-enc", "UTF-8", "-layout"]
    if page is not None:
        args += ["-f", str(page + 1), "-l", str(page + 1)]
    if slot is not None:  # the block and the captions under it (pdftotext crops from the top-left, at 72 dpi)
        args += ["-x", str(int(slot.x - 16)), "-y", str(int(841.89 - slot.y - slot.height)),
                 "-W", str(int(slot.width + 16)), "-H", str(int(slot.height + 50))]
    out = subprocess.run([*args, str(pdf), "-"], capture_output=True, check=True).stdout.decode()
    return " ".join(out.split())


def test_two_signers_and_two_witnesses_end_to_end(core_ws: Workspace) -> None:
    record = _client_signed(core_ws, "multi-e2e-1")
    assert sorted(s.role for s in record.slots) == ["client", "client_2", "company", "witness_1", "witness_2"]
    evidence = _evidence(record)
    outcome = finalize_documents(core_ws, [record.id], lambda ids: {record.id: evidence})
    assert outcome.completed == [record.id] and not outcome.failed
    path = core_ws.version_path("final", record.id)
    data = path.read_bytes()

    for item in evidence:  # each signer's signature is in the block named after them, over their captions
        slot = next(s for s in record.slots if s.role == item.slot)
        text = _text(path, page=slot.page, slot=slot)
        assert f"Assinado eletronicamente por {item.signer_name}" in text, (item.slot, text)
        assert CPFS[item_tax(record, item)] in text, (item.slot, text)
        for other in evidence:
            if other is not item:
                assert f"por {other.signer_name}" not in text, (item.slot, other.slot)
    witness = _text(path, slot=next(s for s in record.slots if s.role == "witness_2"),
                    page=next(s for s in record.slots if s.role == "witness_2").page)
    assert "2." in witness and "Nome: Beatriz Costa Ramos" in witness and "CPF: 153.509.460-56" in witness

    certificate = _text(path)
    certificate = certificate[certificate.index("Certificado de conclusão"):]
    for label, item in zip(("Signatário 1", "Signatário 2", "Testemunha 1", "Testemunha 2"), evidence, strict=True):
        assert f"{label} {item.signer_name} (documento {CPFS[item_tax(record, item)]})" in certificate, label
        assert item.ip in certificate and item.user_agent in certificate
    assert "Recebe cópia Departamento Jurídico — o documento assinado, enviado para j***@saojoao.example.com" \
        in certificate
    witnesses_first = (evidence[2], evidence[0], evidence[1])
    assert _counterparty(record, witnesses_first).representative == "Mariana Araújo Gonçalves"  # first client signer

    sig = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout
    assert sig.count("Signature #") == 1
    assert "Signature is Valid" in sig and "Total document signed" in sig
    assert verify_pdf(data, core_ws.ledger, core_ws.trust_roots).authentic
    assert finalize_documents(core_ws, [record.id], lambda ids: {record.id: evidence}).completed == []


def test_a_required_signer_missing_leaves_the_document_unsealed(core_ws: Workspace) -> None:
    record = _client_signed(core_ws, "multi-e2e-2")
    evidence = _evidence(record)[:3]  # the second witness has not signed
    outcome = finalize_documents(core_ws, [record.id], lambda ids: {record.id: evidence})
    assert outcome.completed == []
    assert "not signed yet by signer 4 (witness_2)" in str(outcome.failed[record.id])
    assert core_ws.ledger.get(record.id).stage is Stage.CLIENT_SIGNED


def test_the_document_names_each_signers_block(core_ws: Workspace) -> None:
    """Evidence that names no block (or the wrong one) fills the block the document gives its signer."""
    record = _client_signed(core_ws, "multi-e2e-3")
    evidence = tuple(replace(e, slot="client", role="signer") for e in _evidence(record))
    outcome = finalize_documents(core_ws, [record.id], lambda ids: {record.id: evidence})
    assert outcome.completed == [record.id], outcome.failed


@pytest.mark.parametrize("shape", ["single", "tuple"])
def test_a_one_signer_document_takes_one_evidence_or_a_tuple(core_ws: Workspace, shape: str) -> None:
    deal = make_deal(f"multi-one-{shape}")
    (prepared,) = prepare_documents(core_ws, [(deal, ())], TEMPLATE)
    assert prepared.record is not None
    assert [s.role for s in prepared.record.slots] == ["company", "client"]
    (doc_id,) = company_sign_documents(core_ws, [prepared.record], approved_by="director").signed
    core_ws.ledger.move(doc_id, Stage.SENT, "sent", EventInfo(actor="pipeline", channel="sms"))
    core_ws.ledger.move(doc_id, Stage.CLIENT_SIGNED, "client_signed", EventInfo(actor="client", channel="sms"))
    one = ClientEvidence(signer_name="Mariana Araújo Gonçalves", signed_at=AT, channel="sms",
                         masked_destination="+55 31 9****-4321", code_verified_at=AT)
    given = one if shape == "single" else (one,)
    assert finalize_documents(core_ws, [doc_id], lambda ids: {doc_id: given}).completed == [doc_id]
    text = _text(core_ws.version_path("final", doc_id))
    assert "Cliente Mariana Araújo Gonçalves — assinatura eletrônica em" in text  # the counterparty's CNPJ is not hers



def test_the_certificate_says_which_optional_witness_did_not_sign_and_why(core_ws: Workspace) -> None:
    record = _client_signed(core_ws, "multi-e2e-optional", optional=("witness",))
    evidence = _evidence(record)[:2]  # both witnesses optional: one declined, the other's link lapsed
    carlos = record.signer(3)
    core_ws.ledger.log(record.id, "signer_declined", EventInfo(
        actor="client", channel="email", detail=f"Não pude comparecer ({signer_label(carlos)})"))
    outcome = finalize_documents(core_ws, [record.id], lambda ids: {record.id: evidence})
    assert outcome.completed == [record.id], outcome.failed
    certificate = _text(core_ws.version_path("final", record.id))
    certificate = certificate[certificate.index("Certificado de conclusão"):]
    assert "Testemunha 1 Carlos Eduardo Lima — recusou-se a assinar" in certificate, certificate
    assert "Testemunha 2 Beatriz Costa Ramos — não assinou antes de o link expirar" in certificate, certificate
