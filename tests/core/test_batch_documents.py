"""A whole batch prepared and company-signed with bulk ledger writes: the same outcome as one by one."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

import esign.core.batch_documents as batch_documents
from esign.core.batch_documents import company_sign_documents, prepare_documents
from esign.errors import RenderError
from esign.model import Deal, Stage
from esign.store import sha256_hex
from esign.workspace import Workspace
from tests.support import make_deal

TEMPLATE = "contrato_servicos"


def _deals(prefix: str, n: int) -> list[tuple[Deal, tuple[str, ...]]]:
    return [(make_deal(f"{prefix}{i}"), ()) for i in range(n)]


def test_a_mixed_batch_is_prepared_with_few_ledger_writes(core_ws: Workspace) -> None:
    bad = make_deal("mix-bad", counterparty=replace(make_deal().counterparty, email="not-an-email", phone=""))
    deals = [*_deals("mix-", 5), (bad, ()), (make_deal("mix-crm"), ("amount: not a number ('abc')",))]
    prepared = prepare_documents(core_ws, deals, TEMPLATE, batch_id="b1", record_every=2)
    by_deal = {p.deal_id: p for p in prepared}
    assert [p.deal_id for p in prepared] == [d.id for d, _ in deals]  # in the order given
    assert all(p.created and p.error is None for p in prepared)
    assert "counterparty.email" in (by_deal["mix-bad"].record.reason or "")  # type: ignore[union-attr]
    assert by_deal["mix-crm"].record.stage is Stage.QUARANTINED  # type: ignore[union-attr]
    drafts = [p.record for p in prepared if p.record and p.record.stage is Stage.DRAFT]
    assert len(drafts) == 5
    for record in drafts:
        version = core_ws.ledger.version(record.id, "rendered")
        assert version is not None
        assert sha256_hex(core_ws.version_path("rendered", record.id).read_bytes()) == version.sha256
        assert core_ws.ledger.get(record.id) == record  # slots included: what was returned is what is stored
        assert {s.role for s in record.slots} == {"company", "client"}
    again = prepare_documents(core_ws, deals, TEMPLATE, batch_id="b2")
    assert [(p.record.id, p.created) for p in again] == [(p.record.id, False) for p in prepared]  # type: ignore[union-attr]


def test_an_unusable_contact_beside_a_usable_one_is_a_note_and_contacts_are_stored_normalised(
        core_ws: Workspace) -> None:
    party = make_deal().counterparty
    noted = make_deal("note-1", counterparty=replace(party, email=" Ana@Example.COM ", phone="12345"))
    national = make_deal("note-2", counterparty=replace(party, email="", phone="(31) 98765-4321"))
    by_deal = {p.deal_id: p.record for p in prepare_documents(core_ws, [(noted, ()), (national, ())], TEMPLATE)}
    first, second = by_deal["note-1"], by_deal["note-2"]
    assert first is not None and first.stage is Stage.DRAFT and first.reason is None
    assert (first.counterparty_email, first.counterparty_phone) == ("Ana@example.com", "12345")
    created = core_ws.ledger.events(first.id)[0]
    assert created.action == "created" and created.detail.startswith("counterparty.phone: not a valid phone number")
    assert second is not None and second.stage is Stage.DRAFT and second.counterparty_phone == "+5531987654321"
    assert core_ws.ledger.events(second.id)[0].detail == ""


def test_a_draft_left_unrendered_by_a_crash_is_rendered_by_the_next_run(core_ws: Workspace) -> None:
    deal = make_deal("crash-1")
    record, _ = core_ws.ledger.create_document(deal_id=deal.id, template_id=TEMPLATE, title=deal.title)
    (prepared,) = prepare_documents(core_ws, [(deal, ())], TEMPLATE)
    assert prepared.record is not None and prepared.record.id == record.id and not prepared.created
    assert core_ws.ledger.version(record.id, "rendered") is not None


def test_one_deals_unexpected_failure_does_not_stop_the_batch(core_ws: Workspace,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    real = batch_documents.render_document

    def render(template: Any, party: Any, deal: Deal, *args: Any, **kw: Any) -> Any:
        if deal.id == "boom-1":
            raise MemoryError("simulated")
        if deal.id == "boom-2":
            raise RenderError("table too wide for the page")
        return real(template, party, deal, *args, **kw)

    monkeypatch.setattr(batch_documents, "render_document", render)
    prepared = {p.deal_id: p for p in prepare_documents(core_ws, _deals("boom-", 4), TEMPLATE)}
    assert "MemoryError" in (prepared["boom-1"].error or "")
    failed = prepared["boom-1"].record
    assert failed is not None and core_ws.ledger.version(failed.id, "rendered") is None  # a draft to retry
    quarantined = prepared["boom-2"].record
    assert quarantined is not None and quarantined.stage is Stage.QUARANTINED
    assert core_ws.ledger.get(quarantined.id).reason == "table too wide for the page"
    assert all(core_ws.ledger.version(prepared[d].record.id, "rendered")  # type: ignore[union-attr]
               for d in ("boom-0", "boom-3"))


def test_a_group_whose_files_cannot_be_made_durable_is_not_recorded(core_ws: Workspace,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    real, calls = batch_documents.sync_files, []

    def sync_files(paths: Any) -> None:
        calls.append(list(paths))
        if len(calls) == 1:
            raise OSError(5, "Input/output error")
        real(calls[-1])

    monkeypatch.setattr(batch_documents, "sync_files", sync_files)
    prepared = prepare_documents(core_ws, _deals("eio-", 4), TEMPLATE, record_every=2)
    assert [len(c) for c in calls] == [2, 2]  # one sync per group, before the group is recorded
    failed, kept = prepared[:2], prepared[2:]
    for p in failed:
        assert p.record is not None
        assert p.error == f"document {p.record.id}: cannot store the rendered file: [Errno 5] Input/output error"
        assert core_ws.ledger.version(p.record.id, "rendered") is None  # a draft to retry
    assert all(p.error is None and core_ws.ledger.version(p.record.id, "rendered")  # type: ignore[union-attr]
               for p in kept)
    monkeypatch.setattr(batch_documents, "sync_files", real)
    again = prepare_documents(core_ws, _deals("eio-", 2), TEMPLATE)
    assert all(core_ws.ledger.version(p.record.id, "rendered") for p in again)  # type: ignore[union-attr]


def test_a_refused_bulk_insert_goes_one_by_one_and_names_the_bad_deal(core_ws: Workspace,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = core_ws.ledger
    real_create = ledger.create_document

    def bulk_refused(new: Any) -> Any:
        raise OperationalError("INSERT", {}, Exception("value too long for type character varying(40)"))

    def create(**kw: Any) -> Any:
        if kw["deal_id"] == "refused-1":
            raise OperationalError("INSERT", {}, Exception("value too long for type character varying(40)"))
        return real_create(**kw)

    monkeypatch.setattr(ledger.bulk, "create_documents", bulk_refused)
    monkeypatch.setattr(ledger, "create_document", create)
    prepared = {p.deal_id: p for p in prepare_documents(core_ws, _deals("refused-", 3), TEMPLATE)}
    assert prepared["refused-1"].record is None and "value too long" in (prepared["refused-1"].error or "")
    for deal in ("refused-0", "refused-2"):
        record = prepared[deal].record
        assert record is not None and core_ws.ledger.version(record.id, "rendered") is not None


def test_company_sign_a_batch(core_ws: Workspace) -> None:
    prepared = prepare_documents(core_ws, _deals("sign-", 4), TEMPLATE)
    records = [p.record for p in prepared if p.record is not None]
    tampered = records[1]
    core_ws.version_path("rendered", tampered.id).write_bytes(b"%PDF-1.4 altered")
    outcome = company_sign_documents(core_ws, records, approved_by="director:ana", record_every=2)
    assert sorted(outcome.signed) == sorted(r.id for r in records if r.id != tampered.id)
    assert list(outcome.failed) == [tampered.id] and "does not match" in str(outcome.failed[tampered.id])
    for doc_id in outcome.signed:
        assert core_ws.ledger.get(doc_id).stage is Stage.COMPANY_SIGNED
        last = core_ws.ledger.events(doc_id)[-1]
        assert (last.action, last.actor) == ("company_signed", "director:ana")
    assert core_ws.ledger.get(tampered.id).stage is Stage.DRAFT  # the caller decides (the DAG fails it)
    again = company_sign_documents(core_ws, [core_ws.ledger.get(r.id) for r in records], approved_by="x")
    assert again.signed == [] and list(again.failed) == [tampered.id]  # nothing signed twice


def test_signed_files_that_cannot_be_made_durable_are_not_recorded(core_ws: Workspace,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    records = [p.record for p in prepare_documents(core_ws, _deals("sign-eio-", 2), TEMPLATE) if p.record]
    real = batch_documents.sync_files

    def failing(paths: Any) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(batch_documents, "sync_files", failing)
    with pytest.raises(OSError, match="Input/output error"):  # the task fails and is retried
        company_sign_documents(core_ws, records, approved_by="director:ana")
    assert all(core_ws.ledger.get(r.id).stage is Stage.DRAFT for r in records)
    assert all(core_ws.ledger.version(r.id, "company_signed") is None for r in records)
    monkeypatch.setattr(batch_documents, "sync_files", real)
    again = company_sign_documents(core_ws, records, approved_by="director:ana")
    assert sorted(again.signed) == sorted(r.id for r in records)


def test_a_file_signed_and_recorded_before_a_crash_is_not_signed_again(core_ws: Workspace) -> None:
    (prepared,) = prepare_documents(core_ws, _deals("resume-", 1), TEMPLATE)
    record = prepared.record
    assert record is not None
    path = core_ws.version_path("company_signed", record.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF signed before the crash")
    core_ws.ledger.add_version(record.id, "company_signed", sha256=sha256_hex(path.read_bytes()), path=str(path),
                               size=path.stat().st_size)
    outcome = company_sign_documents(core_ws, [record], approved_by="director")
    assert outcome.signed == [record.id]
    assert path.read_bytes() == b"%PDF signed before the crash"  # only the move was missing
    assert core_ws.ledger.get(record.id).stage is Stage.COMPANY_SIGNED


def test_drafts_held_elsewhere_or_unrendered_are_left(core_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    prepared = prepare_documents(core_ws, _deals("held-", 2), TEMPLATE)
    held, free = (p.record for p in prepared)
    assert held is not None and free is not None
    unrendered, _ = core_ws.ledger.create_document(deal_id="held-x", template_id=TEMPLATE, title="t")
    from contextlib import contextmanager

    @contextmanager
    def only_free(ids: Any) -> Any:
        yield {i for i in ids if i != held.id}

    monkeypatch.setattr(core_ws.ledger.bulk, "exclusive_many", only_free)
    outcome = company_sign_documents(core_ws, [held, free, unrendered], approved_by="director")
    assert (outcome.busy, outcome.signed, outcome.not_rendered) == ([held.id], [free.id], [unrendered.id])
    assert core_ws.ledger.get(held.id).stage is Stage.DRAFT
