from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine

from esign.errors import StoreError
from esign.model import SignatureSlot, Stage
from esign.store import EventInfo, Ledger, new_document_id
from esign.store.records import _ALPHABET


def _create(ledger: Ledger, deal: str = "42", template: str = "contrato_servicos") -> str:
    doc, created = ledger.create_document(deal_id=deal, template_id=template, title="Contrato",
                                          counterparty_name="Cliente", counterparty_tax_id="123")
    assert created
    return doc.id


def test_document_ids_are_long_and_unambiguous() -> None:
    ids = {new_document_id() for _ in range(1000)}
    assert len(ids) == 1000
    for doc_id in ids:
        assert doc_id.startswith("DOC-") and len(doc_id) == 20
        assert set(doc_id[4:]) <= set(_ALPHABET)


def test_create_is_idempotent_per_deal_and_template(ledger: Ledger) -> None:
    first = _create(ledger)
    again, created = ledger.create_document(deal_id="42", template_id="contrato_servicos", title="Outro")
    assert not created and again.id == first and again.title == "Contrato"
    other, created = ledger.create_document(deal_id="42", template_id="nda", title="NDA")
    assert created and other.id != first
    assert [e.action for e in ledger.events(first)] == ["created"]


def test_concurrent_creates_make_one_document(engine: Engine) -> None:
    ledgers = [Ledger(engine) for _ in range(6)]
    results: list[tuple[str, bool]] = []
    barrier = threading.Barrier(len(ledgers))

    def work(lg: Ledger) -> None:
        barrier.wait()
        doc, created = lg.create_document(deal_id="7", template_id="t", title="x")
        results.append((doc.id, created))

    threads = [threading.Thread(target=work, args=(lg,)) for lg in ledgers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({doc_id for doc_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1


def test_moves_follow_the_state_machine_and_log_events(ledger: Ledger) -> None:
    doc_id = _create(ledger)
    assert ledger.move(doc_id, Stage.COMPANY_SIGNED, "company_signed", EventInfo(actor="director"))
    assert not ledger.move(doc_id, Stage.COMPANY_SIGNED, "company_signed")  # a re-run is a no-op
    with pytest.raises(StoreError, match="cannot move from company_signed to completed"):
        ledger.move(doc_id, Stage.COMPLETED, "completed")
    ledger.log(doc_id, "reminder_sent", EventInfo(channel="email"))
    assert ledger.get(doc_id).stage is Stage.COMPANY_SIGNED
    assert ledger.derived_stage(doc_id) is Stage.COMPANY_SIGNED
    actions = [(e.action, e.stage) for e in ledger.events(doc_id)]
    assert actions == [("created", Stage.DRAFT), ("company_signed", Stage.COMPANY_SIGNED), ("reminder_sent", None)]
    assert all(e.at.tzinfo is not None for e in ledger.events(doc_id))


def test_final_stages_are_final(ledger: Ledger) -> None:
    doc_id = _create(ledger)
    ledger.move(doc_id, Stage.CANCELED, "canceled", reason="deal lost")
    for target in (Stage.DRAFT, Stage.COMPANY_SIGNED, Stage.SENT, Stage.COMPLETED):
        with pytest.raises(StoreError):
            ledger.move(doc_id, target, "x")
    assert ledger.get(doc_id).reason == "deal lost"


def test_quarantined_documents_keep_the_reason(ledger: Ledger) -> None:
    doc, created = ledger.create_document(deal_id="9", template_id="t", title="x", stage=Stage.QUARANTINED,
                                          reason="counterparty.tax_id: missing")
    assert created and doc.stage is Stage.QUARANTINED and doc.reason == "counterparty.tax_id: missing"
    assert ledger.events(doc.id)[0].detail == "counterparty.tax_id: missing"
    with pytest.raises(StoreError, match="starts as draft or quarantined"):
        ledger.create_document(deal_id="10", template_id="t", title="x", stage=Stage.SENT)


def test_unknown_documents_are_errors(ledger: Ledger) -> None:
    with pytest.raises(StoreError, match="unknown document"):
        ledger.get("DOC-NOPE")
    with pytest.raises(StoreError, match="unknown document"):
        ledger.move("DOC-NOPE", Stage.COMPANY_SIGNED, "x")
    assert ledger.maybe_get("DOC-NOPE") is None


def test_versions_are_recorded_once(ledger: Ledger) -> None:
    doc_id = _create(ledger)
    v = ledger.add_version(doc_id, "rendered", sha256="a" * 64, path="r.pdf", size=10)
    assert ledger.add_version(doc_id, "rendered", sha256="a" * 64, path="r.pdf", size=10) == v
    with pytest.raises(StoreError, match="different rendered version"):
        ledger.add_version(doc_id, "rendered", sha256="b" * 64, path="r2.pdf", size=10)
    ledger.add_version(doc_id, "final", sha256="c" * 64, path="f.pdf", size=11)
    assert [x.kind for x in ledger.versions(doc_id)] == ["rendered", "final"]
    assert [x.document_id for x in ledger.versions_by_sha256("c" * 64)] == [doc_id]
    assert ledger.versions_by_sha256("d" * 64) == []


def test_slots_round_trip(ledger: Ledger) -> None:
    doc_id = _create(ledger)
    slots = [SignatureSlot("company", 1, 50.0, 100.0, 200.0, 60.0), SignatureSlot("client", 1, 300, 100, 200, 60)]
    ledger.set_slots(doc_id, slots)
    record = ledger.get(doc_id)
    assert record.slots == tuple(slots)
    assert record.slot("client") == slots[1] and record.slot("witness") is None


def test_stage_counts(ledger: Ledger) -> None:
    a, b = _create(ledger, "1"), _create(ledger, "2")
    _create(ledger, "3")
    ledger.move(a, Stage.COMPANY_SIGNED, "company_signed")
    ledger.move(b, Stage.FAILED, "failed")
    assert ledger.stage_counts() == {"draft": 1, "company_signed": 1, "failed": 1}


def test_move_many_moves_each_once_with_one_event_each(ledger: Ledger) -> None:
    ids = [_create(ledger, deal=str(n)) for n in range(4)]
    ledger.move(ids[1], Stage.COMPANY_SIGNED, "company_signed")  # elsewhere already
    infos = [(doc_id, EventInfo(actor="director", detail=doc_id)) for doc_id in ids]
    moved = ledger.move_many(infos, Stage.DRAFT, Stage.COMPANY_SIGNED, "company_signed")
    assert moved == sorted([ids[0], ids[2], ids[3]])
    assert ledger.move_many(infos, Stage.DRAFT, Stage.COMPANY_SIGNED, "company_signed") == []  # a re-run
    for doc_id in ids:
        assert ledger.get(doc_id).stage is Stage.COMPANY_SIGNED
        assert ledger.derived_stage(doc_id) is Stage.COMPANY_SIGNED
        assert [e.action for e in ledger.events(doc_id)] == ["created", "company_signed"]
    assert ledger.events(ids[2])[-1].detail == ids[2]
    with pytest.raises(StoreError, match="cannot move from draft to completed"):
        ledger.move_many(infos, Stage.DRAFT, Stage.COMPLETED, "completed")
