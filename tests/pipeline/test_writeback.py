"""CRM write-backs for a whole batch: once each, a refused deal stays pending without holding up the others."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from esign.errors import CrmError
from esign.model import Stage
from esign.pipeline import send, writeback
from esign.pipeline.schema import crm_sync
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
    assert writeback.write_back_many(dry, [(record, "x")], "awaiting") == (0, {})
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
    assert writeback.write_back_many(pipe.services, [(r, "x") for r in records], "awaiting") == (2, {})
    assert raced and {_states(pipe)[r.id] for r in records} == {"done"}
    assert writeback.write_back(pipe.services, records[0], "awaiting", "x") is False  # done, by the other worker
