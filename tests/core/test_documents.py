"""The document core's steps are idempotent and keep bad data aside with a named reason."""

from __future__ import annotations

import subprocess
from dataclasses import replace

import pytest
from pypdf import PdfReader

from esign.core.documents import company_sign_document, finalize_signed_document, prepare_document
from esign.errors import SigningError
from esign.model import Stage
from esign.store import EventInfo, sha256_hex
from esign.workspace import Workspace
from tests.support import complete_document, make_deal, sample_evidence

TEMPLATE = "contrato_servicos"


def test_prepare_renders_once_and_is_idempotent(core_ws: Workspace) -> None:
    deal = make_deal("2001")
    record, created = prepare_document(core_ws, deal, TEMPLATE, batch_id="b1")
    assert created and record.stage is Stage.DRAFT and record.batch_id == "b1"
    version = core_ws.ledger.version(record.id, "rendered")
    assert version is not None
    path = core_ws.version_path("rendered", record.id)
    assert sha256_hex(path.read_bytes()) == version.sha256
    assert {s.role for s in record.slots} == {"company", "client"}
    again, created = prepare_document(core_ws, deal, TEMPLATE, batch_id="b2")
    assert not created and again.id == record.id and again.batch_id == "b1"
    assert len(core_ws.ledger.versions(record.id)) == 1


def test_rendering_is_reproducible_after_a_crash_before_recording(core_ws: Workspace) -> None:
    """A crash after the file was written but before the ledger recorded it: the re-run writes the same bytes."""
    deal = make_deal("2002")
    record, _ = core_ws.ledger.create_document(deal_id=deal.id, template_id=TEMPLATE, title=deal.title)
    first, _ = prepare_document(core_ws, deal, TEMPLATE)  # renders the existing draft
    first_sha = core_ws.ledger.version(record.id, "rendered").sha256  # type: ignore[union-attr]
    from esign.render import render_document

    again = render_document(core_ws.templates.get(TEMPLATE), core_ws.company.party, deal, record.id,
                            issued_at=first.created_at)
    assert sha256_hex(again.pdf) == first_sha


@pytest.mark.parametrize(("change", "field"), [
    ({"counterparty": replace(make_deal().counterparty, name="")}, "counterparty.name"),
    ({"counterparty": replace(make_deal().counterparty, tax_id="")}, "counterparty.tax_id"),
    ({"counterparty": replace(make_deal().counterparty, email="not-an-email", phone="")}, "counterparty.email"),
    ({"counterparty": replace(make_deal().counterparty, email="", phone="12345")}, "counterparty.phone"),
    ({"title": "x" * 5000}, "title"),
])
def test_bad_data_is_quarantined_with_the_field_named(core_ws: Workspace, change: dict[str, object],
                                                      field: str) -> None:
    deal = make_deal(f"q-{field}", **change)
    record, created = prepare_document(core_ws, deal, TEMPLATE)
    assert created and record.stage is Stage.QUARANTINED
    assert field in (record.reason or "")
    assert core_ws.ledger.versions(record.id) == []  # nothing half-written
    assert not core_ws.version_path("rendered", record.id).exists()


def test_crm_problems_are_quarantine_reasons(core_ws: Workspace) -> None:
    record, _ = prepare_document(core_ws, make_deal("2003"), TEMPLATE, problems=["amount: not a number ('abc')"])
    assert record.stage is Stage.QUARANTINED and "amount: not a number" in (record.reason or "")


def test_hostile_but_valid_text_renders_as_text(core_ws: Workspace) -> None:
    party = replace(make_deal().counterparty, name="<b>Acme</b> & Filhos </para> 😀 שלום")
    record, _ = prepare_document(core_ws, make_deal("2004", counterparty=party), TEMPLATE)
    assert record.stage is Stage.DRAFT, record.reason
    text = "".join(p.extract_text() for p in PdfReader(core_ws.version_path("rendered", record.id)).pages)
    assert "<b>Acme</b> & Filhos" in text


def test_new_round_only_when_the_previous_one_is_wrapped_up(core_ws: Workspace) -> None:
    deal = make_deal("2005")
    first, _ = prepare_document(core_ws, deal, TEMPLATE)
    core_ws.ledger.move(first.id, Stage.CANCELED, "canceled")
    same, created = prepare_document(core_ws, deal, TEMPLATE, may_restart=lambda r: False)
    assert not created and same.id == first.id
    second, created = prepare_document(core_ws, deal, TEMPLATE, may_restart=lambda r: True)
    assert created and second.id != first.id and second.round == 2 and second.stage is Stage.DRAFT


def test_company_signature_is_applied_once(core_ws: Workspace) -> None:
    record, _ = prepare_document(core_ws, make_deal("2006"), TEMPLATE)
    signed = company_sign_document(core_ws, record.id, approved_by="ops:ana")
    assert signed.stage is Stage.COMPANY_SIGNED
    version = core_ws.ledger.version(record.id, "company_signed")
    again = company_sign_document(core_ws, record.id, approved_by="ops:ana")
    assert again.stage is Stage.COMPANY_SIGNED
    assert core_ws.ledger.version(record.id, "company_signed") == version
    events = [e for e in core_ws.ledger.events(record.id) if e.action == "company_signed"]
    assert len(events) == 1 and events[0].actor == "ops:ana"


def test_company_sign_refuses_a_changed_file(core_ws: Workspace) -> None:
    record, _ = prepare_document(core_ws, make_deal("2007"), TEMPLATE)
    path = core_ws.version_path("rendered", record.id)
    path.write_bytes(path.read_bytes() + b"\n% tampered\n")
    with pytest.raises(SigningError, match="does not match its recorded SHA-256"):
        company_sign_document(core_ws, record.id, approved_by="director")
    assert core_ws.ledger.get(record.id).stage is Stage.DRAFT


def test_finalize_requires_the_client_signature(core_ws: Workspace) -> None:
    record, _ = prepare_document(core_ws, make_deal("2008"), TEMPLATE)
    company_sign_document(core_ws, record.id, approved_by="director")
    with pytest.raises(SigningError, match="not client_signed"):
        finalize_signed_document(core_ws, record.id, sample_evidence())


def test_completed_document_holds_every_version_and_validates(core_ws: Workspace) -> None:
    doc_id = complete_document(core_ws, make_deal("2009"))
    record = core_ws.ledger.get(doc_id)
    assert record.stage is Stage.COMPLETED
    assert [v.kind for v in core_ws.ledger.versions(doc_id)] == ["rendered", "company_signed", "final"]
    assert core_ws.ledger.derived_stage(doc_id) is Stage.COMPLETED
    final = core_ws.version_path("final", doc_id)
    assert final.parent.name == "completed"
    text = PdfReader(final).pages[-1].extract_text()
    for version in core_ws.ledger.versions(doc_id)[:2]:
        assert version.sha256 in text.replace("\n", "")
    out = subprocess.run(["pdfsig", str(final)], capture_output=True, text=True, check=False).stdout
    assert "Signature is Valid" in out and "Total document signed" in out
    # finalize again is a no-op
    assert finalize_signed_document(core_ws, doc_id, sample_evidence()).stage is Stage.COMPLETED
    core_ws.ledger.log(doc_id, "downloaded", EventInfo(actor="ops"))
