"""The ledger's bulk reads and writes keep the guarantees of the one-by-one methods (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from esign.errors import StoreError
from esign.model import SignatureSlot, Stage
from esign.store import EventInfo, Ledger, NewDocument, StoredFile


@pytest.fixture
def ledger(engine: Engine) -> Ledger:
    return Ledger(engine)


def _new(deal: str, round_: int = 1, stage: Stage = Stage.DRAFT, reason: str | None = None) -> NewDocument:
    return NewDocument(deal_id=deal, template_id="t", title=f"Contrato {deal}", round_=round_, batch_id="b1",
                       counterparty_name="Cliente " + deal, stage=stage, reason=reason,
                       actor="validator" if reason else "pipeline")


def test_create_documents_in_one_go_with_their_first_events(ledger: Ledger) -> None:
    made = ledger.bulk.create_documents([_new("1"), _new("2", stage=Stage.QUARANTINED, reason="email: invalid")])
    assert [created for _, created in made] == [True, True]
    (draft, _), (bad, _) = made
    assert ledger.get(draft.id) == draft  # the record returned is the row stored
    assert ledger.get(bad.id).stage is Stage.QUARANTINED and ledger.get(bad.id).reason == "email: invalid"
    assert [e.action for e in ledger.events(draft.id)] == ["created"]
    quarantined = ledger.events(bad.id)
    assert [(e.action, e.actor, e.detail) for e in quarantined] == [("quarantined", "validator", "email: invalid")]
    assert ledger.derived_stage(bad.id) is Stage.QUARANTINED


def test_create_documents_returns_what_exists_and_creates_the_rest(ledger: Ledger) -> None:
    existing, _ = ledger.create_document(deal_id="2", template_id="t", title="already there")
    made = ledger.bulk.create_documents([_new("1"), _new("2"), _new("3")])
    assert [created for _, created in made] == [True, False, True]
    assert made[1][0].id == existing.id and made[1][0].title == "already there"
    assert len({r.id for r, _ in made}) == 3


def test_create_documents_refuses_duplicates_and_bad_stages(ledger: Ledger) -> None:
    with pytest.raises(StoreError, match="twice"):
        ledger.bulk.create_documents([_new("1"), _new("1")])
    with pytest.raises(StoreError, match="draft or quarantined"):
        ledger.bulk.create_documents([_new("1", stage=Stage.SENT)])
    assert ledger.stage_counts() == {}


def test_latest_for_deals_gives_the_newest_round(ledger: Ledger) -> None:
    ledger.bulk.create_documents([_new("1"), _new("1", round_=2), _new("2")])
    latest = ledger.bulk.latest_for_deals(crm="local", template_id="t", deal_ids=["1", "2", "3"])
    assert {deal: r.round for deal, r in latest.items()} == {"1": 2, "2": 1}


def test_record_files_once_with_slots(ledger: Ledger) -> None:
    (a, _), (b, _) = ledger.bulk.create_documents([_new("1"), _new("2")])
    slot = SignatureSlot(role="client", page=1, x=10, y=20, width=100, height=40)
    files = [StoredFile(a.id, "aa" * 32, "/a.pdf", 10, (slot,)), StoredFile(b.id, "bb" * 32, "/b.pdf", 20, ())]
    ledger.bulk.record_files(files, "rendered")
    ledger.bulk.record_files(files, "rendered")  # a re-run: nothing new
    assert [v.sha256 for v in ledger.versions(a.id)] == ["aa" * 32]
    assert ledger.get(a.id).slots == (slot,)
    assert set(ledger.bulk.versions_for([a.id, b.id, "DOC-NONE"], "rendered")) == {a.id, b.id}
    with pytest.raises(StoreError, match="different rendered version"):
        ledger.bulk.record_files([StoredFile(a.id, "cc" * 32, "/a2.pdf", 10)], "rendered")


def test_record_files_and_move_is_one_conditional_step(ledger: Ledger) -> None:
    (a, _), (b, _), (c, _) = ledger.bulk.create_documents([_new("1"), _new("2"), _new("3")])
    ledger.move(c.id, Stage.CANCELED, "canceled", EventInfo(actor="ops"))  # moved by someone else meanwhile
    files = [StoredFile(d.id, f"{n:064x}", f"/{n}.pdf", n) for n, d in enumerate((a, b, c), start=1)]
    moved = ledger.bulk.record_files_and_move(files, "company_signed", [a.id, b.id, c.id], Stage.DRAFT,
                                              Stage.COMPANY_SIGNED, "company_signed", "director:ana", "signed")
    assert moved == sorted([a.id, b.id])
    assert ledger.get(c.id).stage is Stage.CANCELED
    for doc in (a, b):
        last = ledger.events(doc.id)[-1]
        assert (last.action, last.actor, last.stage) == ("company_signed", "director:ana", Stage.COMPANY_SIGNED)
        assert ledger.derived_stage(doc.id) is Stage.COMPANY_SIGNED
    again = ledger.bulk.record_files_and_move(files, "company_signed", [a.id, b.id], Stage.DRAFT,
                                              Stage.COMPANY_SIGNED, "company_signed", "director:ana", "signed")
    assert again == [] and len(ledger.events(a.id)) == 2  # never moved (or logged) twice
    with pytest.raises(StoreError, match="cannot move"):
        ledger.bulk.record_files_and_move([], "x", [a.id], Stage.COMPLETED, Stage.DRAFT, "x", "x", "")


def test_exclusive_many_leaves_out_what_another_process_holds(ledger: Ledger, engine: Engine) -> None:
    ids = ["DOC-A", "DOC-B", "DOC-C"]
    other = Ledger(engine)
    with ledger.bulk.exclusive_many(ids[:2]) as first:
        assert first == {"DOC-A", "DOC-B"}
        with other.exclusive("DOC-C") as single, other.bulk.exclusive_many(ids) as second:
            assert single
            if engine.dialect.name == "postgresql":
                assert second == set()  # A and B held by the first block's session, C by the single lock's
            else:
                assert second == set(ids)  # SQLite: one embedded process, always allowed
    with other.bulk.exclusive_many(ids) as after:
        assert after == set(ids)  # released at the end of each block


def test_events_for_and_log_many(ledger: Ledger) -> None:
    (a, _), (b, _), (c, _) = ledger.bulk.create_documents([_new("e1"), _new("e2"), _new("e3")])
    ledger.bulk.log_many([(a.id, "verified", EventInfo(actor="pipeline", detail="sha256 x")),
                          (b.id, "viewed", EventInfo(actor="client", ip="198.51.100.9"))])
    found = ledger.bulk.events_for([a.id, b.id, "DOC-MISSING"])
    assert [e.action for e in found[a.id]] == ["created", "verified"]
    assert [(e.action, e.ip) for e in found[b.id]] == [("created", ""), ("viewed", "198.51.100.9")]
    assert found[a.id] == ledger.events(a.id) and "DOC-MISSING" not in found and c.id not in found
    assert ledger.get(a.id).stage is Stage.DRAFT  # a logged event changes no stage
    ledger.bulk.log_many([])  # nothing to write: no transaction
