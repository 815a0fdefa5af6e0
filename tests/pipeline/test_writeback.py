"""CRM write-backs for a whole batch: once each, a refused deal stays pending without holding up the others."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from esign.crm.local import LocalCrm
from esign.errors import CrmError
from esign.model import Stage
from esign.pipeline import send, writeback
from esign.pipeline.schema import crm_sync
from esign.store.schema import documents
from tests.pipeline.conftest import Pipe


def _sent_batch(pipe: Pipe) -> dict[str, Any]:
    services = pipe.services
    batches = send.plan_batches(services, "run-w")
    for batch in batches:
        send.prepare_batch(services, batch)
    send.approve_run(services, "run-w", "tester")
    send.sign_batch(services, batches[0])
    send.dispatch_batch(services, batches[0])
    return batches[0]


def _states(pipe: Pipe) -> dict[str, str]:
    with pipe.ws.engine.connect() as conn:
        return {row.document_id: row.state for row in conn.execute(crm_sync.select())}


def test_a_refused_deal_stays_pending_and_the_rest_is_written_back_once(pipe: Pipe,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    batch = _sent_batch(pipe)
    records = pipe.ws.ledger.list_batch(str(batch["batch_id"]), [Stage.SENT])
    assert len(records) >= 3
    refused_deal = int(records[1].deal_id)
    crm = pipe.services.crm
    real_comment = crm.add_comment

    def add_comment(deal_id: int, text: str, files: Any = ()) -> Any:
        if deal_id == refused_deal:
            raise CrmError(f"deal {deal_id}: not found (deleted in the CRM)")
        return real_comment(deal_id, text, files)

    monkeypatch.setattr(crm, "add_comment", add_comment)
    counts = send.mark_awaiting(pipe.services, batch)
    assert counts == {"moved": len(records) - 1, "crm_errors": 1}
    states = _states(pipe)
    assert states[records[1].id] == "pending" and all(states[r.id] == "done" for r in records if r is not records[1])
    awaiting = pipe.services.config.stages.awaiting
    assert crm.get_deal_stage(refused_deal) != awaiting

    monkeypatch.setattr(crm, "add_comment", real_comment)  # the CRM is fixed; the next run finishes the one left
    assert send.mark_awaiting(pipe.services, batch) == {"moved": 1}
    assert send.mark_awaiting(pipe.services, batch) == {}  # nothing twice
    assert crm.get_deal_stage(refused_deal) == awaiting
    assert set(_states(pipe).values()) == {"done"}


def test_write_back_many_checks_its_target_and_respects_dry_run(pipe: Pipe) -> None:
    batch = _sent_batch(pipe)
    record = pipe.ws.ledger.list_batch(str(batch["batch_id"]), [Stage.SENT])[0]
    with pytest.raises(ValueError, match="unknown write-back target"):
        writeback.write_back_many(pipe.services, [(record, "x")], "nowhere")
    dry = pipe.with_config(dry_run=True)
    assert writeback.write_back_many(dry, [(record, "x")], "awaiting") == (0, {}, {})
    assert record.id not in _states(pipe)


def test_intents_another_worker_records_meanwhile_are_not_an_error(pipe: Pipe, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = _sent_batch(pipe)
    records = pipe.ws.ledger.list_batch(str(batch["batch_id"]), [Stage.SENT])[:3]
    engine = pipe.services.ws.engine
    real_begin = engine.begin
    raced: list[str] = []

    def begin() -> Any:  # between this worker's read and its insert, another one wrote back the first document
        if not raced:
            raced.append(records[0].id)
            with real_begin() as conn:
                conn.execute(crm_sync.insert(), [{"document_id": records[0].id, "target": "awaiting", "state": "done",
                                                  "detail": "", "updated_at": datetime.now(UTC)}])
        return real_begin()

    monkeypatch.setattr(engine, "begin", begin)
    assert writeback.write_back_many(pipe.services, [(r, "x") for r in records], "awaiting") == (2, {}, {})
    assert raced and {_states(pipe)[r.id] for r in records} == {"done"}
    assert writeback.write_back(pipe.services, records[0], "awaiting", "x") is False  # done, by the other worker


def _pending(pipe: Pipe, document_id: str, state: str = "pending") -> None:
    with pipe.ws.engine.begin() as conn:
        conn.execute(crm_sync.insert(), [{"document_id": document_id, "target": "awaiting", "state": state,
                                          "detail": "", "updated_at": datetime.now(UTC)}])


def test_each_comment_carries_its_marker_in_the_company_language(pipe: Pipe) -> None:
    batch = _sent_batch(pipe)
    send.mark_awaiting(pipe.services, batch)
    record = pipe.ws.ledger.list_batch(str(batch["batch_id"]), [Stage.SENT])[0]
    [comment] = LocalCrm(pipe.ws.engine).comments(int(record.deal_id))
    assert comment.text.startswith(f"Contrato {record.id} enviado para assinatura por ")
    assert comment.text.endswith("\n" + writeback.marker(record.id, "awaiting"))


def test_a_comment_a_dead_worker_posted_is_found_on_the_timeline_and_not_posted_again(
        pipe: Pipe, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker died after the CRM took the comment and before its mark: the intent is left pending."""
    batch = _sent_batch(pipe)
    records = pipe.ws.ledger.list_batch(str(batch["batch_id"]), [Stage.SENT])[:3]
    crm = LocalCrm(pipe.ws.engine)
    crashed, refused_before = records[0], records[1]
    _pending(pipe, crashed.id)
    crm.add_comment(int(crashed.deal_id), "sent\n" + writeback.marker(crashed.id, "awaiting"))
    _pending(pipe, refused_before.id)  # an earlier run's CRM refused it before commenting: nothing on the timeline
    looked_up: list[dict[int, str]] = []
    real_find = pipe.services.crm.find_comments

    def find_comments(wanted: dict[int, str]) -> set[int]:
        looked_up.append(dict(wanted))
        return real_find(wanted)

    monkeypatch.setattr(pipe.services.crm, "find_comments", find_comments)
    items = [(r, "sent") for r in records]
    assert writeback.write_back_many(pipe.services, items, "awaiting") == (3, {}, {})
    # only the intents found pending were looked up, in one round; a fresh intent costs no lookup
    assert looked_up == [{int(crashed.deal_id): writeback.marker(crashed.id, "awaiting"),
                          int(refused_before.deal_id): writeback.marker(refused_before.id, "awaiting")}]
    assert [len(crm.comments(int(r.deal_id))) for r in records] == [1, 1, 1]
    awaiting = pipe.services.config.stages.awaiting
    assert {crm.get_deal_stage(int(r.deal_id)) for r in records} == {awaiting}
    assert set(_states(pipe).values()) == {"done"}


def test_a_commented_write_back_only_moves_the_deal(pipe: Pipe, monkeypatch: pytest.MonkeyPatch) -> None:
    """The comment was marked, the move or its mark was lost: no timeline lookup, no second comment."""
    batch = _sent_batch(pipe)
    record = pipe.ws.ledger.list_batch(str(batch["batch_id"]), [Stage.SENT])[0]
    crm = LocalCrm(pipe.ws.engine)
    crm.add_comment(int(record.deal_id), "sent\n" + writeback.marker(record.id, "awaiting"))
    _pending(pipe, record.id, "commented")

    def no_lookup(wanted: dict[int, str]) -> set[int]:
        raise AssertionError("a commented write-back needs no timeline lookup")

    monkeypatch.setattr(pipe.services.crm, "find_comments", no_lookup)
    assert writeback.write_back(pipe.services, record, "awaiting", "sent") is True
    assert len(crm.comments(int(record.deal_id))) == 1
    assert crm.get_deal_stage(int(record.deal_id)) == pipe.services.config.stages.awaiting


def test_a_timeline_that_cannot_be_read_leaves_those_pending_and_the_rest_goes_on(
        pipe: Pipe, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = _sent_batch(pipe)
    records = pipe.ws.ledger.list_batch(str(batch["batch_id"]), [Stage.SENT])[:2]
    _pending(pipe, records[0].id)

    def unreadable(wanted: dict[int, str]) -> set[int]:
        raise CrmError("timeline unavailable")

    monkeypatch.setattr(pipe.services.crm, "find_comments", unreadable)
    written, refused, gone = writeback.write_back_many(pipe.services, [(r, "sent") for r in records], "awaiting")
    assert (written, list(refused), gone) == (1, [records[0].id], {})
    states = _states(pipe)
    assert (states[records[0].id], states[records[1].id]) == ("pending", "done")


def test_a_deleted_deal_ends_its_write_back_as_gone(pipe: Pipe) -> None:
    batch = _sent_batch(pipe)
    records = pipe.ws.ledger.list_batch(str(batch["batch_id"]), [Stage.SENT])
    assert LocalCrm(pipe.ws.engine).delete_deal(int(records[0].deal_id))
    counts = send.mark_awaiting(pipe.services, batch)
    assert counts == {"moved": len(records) - 1, "crm_gone": 1}
    assert _states(pipe)[records[0].id] == "gone"
    assert writeback.gone_count(pipe.ws.engine) == 1
    assert writeback.is_done(pipe.services, records[0].id, "awaiting")  # nothing more owed
    assert writeback.not_written_back(pipe.services, (Stage.SENT,), "awaiting") == []
    assert send.mark_awaiting(pipe.services, batch) == {}  # never tried again
    assert writeback.write_back(pipe.services, records[0], "awaiting", "x") is False
    from datetime import timedelta

    from esign.pipeline import resume
    from esign.pipeline.stuck import stuck_documents

    later = datetime.now(UTC) + timedelta(days=1)  # neither stuck nor owed to a send run, however long it waits
    assert records[0].id not in {d.document_id for d in stuck_documents(pipe.ws.engine, timedelta(minutes=1),
                                                                        now=later, limit=1000).listed}
    with pipe.ws.engine.connect() as conn:
        owed = conn.execute(select(documents.c.id).where(resume.owed_by_send())).scalars().all()
    assert records[0].id not in owed


def test_link_mode_puts_links_in_the_comment_and_attaches_no_file(pipe: Pipe) -> None:
    from esign.pipeline import collect
    from tests.pipeline.conftest import client_signs

    batch = _sent_batch(pipe)
    record = pipe.ws.ledger.list_batch(str(batch["batch_id"]), [Stage.SENT])[0]
    client_signs(pipe.services, record.id)
    linked = pipe.with_config(attach="link")
    assert collect.finalize_documents(linked, [record.id]) == {"finalized": 1, "written_back": 1}
    last = LocalCrm(pipe.ws.engine).comments(int(record.deal_id))[-1]
    assert last.files == ()
    assert f"/staff/documents/{record.id}/files/final" in last.text and f"/verify/{record.id}" in last.text
    assert last.text.endswith(writeback.marker(record.id, "signed"))


def test_the_attach_mode_is_checked_with_the_configuration() -> None:
    from esign.errors import ConfigError
    from esign.pipeline.config import PipelineConfig

    assert PipelineConfig().attach == "file" and PipelineConfig().with_overrides({"attach": "link"}).attach == "link"
    with pytest.raises(ConfigError, match="pipeline attach: must be one of file, link"):
        PipelineConfig().with_overrides({"attach": "fax"})


def test_what_another_worker_holds_is_left_to_it(pipe: Pipe, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two runs writing back one batch at once: each document is written by the worker holding its lock."""
    from contextlib import contextmanager

    batch = _sent_batch(pipe)
    records = pipe.ws.ledger.list_batch(str(batch["batch_id"]), [Stage.SENT])[:3]
    bulk = pipe.ws.ledger.bulk
    busy = f"{records[0].id}:crm:awaiting"

    @contextmanager
    def others_hold_one(keys: list[str]) -> Any:
        yield {k for k in keys if k != busy}

    monkeypatch.setattr(bulk, "exclusive_many", others_hold_one)
    assert writeback.write_back_many(pipe.services, [(r, "sent") for r in records], "awaiting") == (2, {}, {})
    assert _states(pipe)[records[0].id] == "pending"  # neither written nor refused: its holder finishes it
    assert LocalCrm(pipe.ws.engine).comments(int(records[0].deal_id)) == []
