"""Liveness across runs: whatever an earlier run left owing, the next send or collect run finishes it, exactly once,
and never company-signs a draft nobody approved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from esign.crm.local import LocalCrm
from esign.errors import CrmError, EsignError, UnfinishedWorkError
from esign.model import Stage
from esign.pipeline import collect, resume, send
from esign.pipeline.schema import batches, crm_sync
from tests.pipeline.conftest import Pipe
from tests.support import send_after_plan


def _prepared(pipe: Pipe, run_id: str) -> list[dict[str, Any]]:
    """A run that planned and prepared, then stopped (killed, or still waiting for the director)."""
    planned = send.plan_batches(pipe.services, run_id)
    for batch in planned:
        send.prepare_batch(pipe.services, batch)
    return planned


def _finish(pipe: Pipe, run_id: str, approver: str = "director") -> None:
    """A whole new send run: plan (taking over), prepare, approve, deliver."""
    send_after_plan(pipe.services, run_id, send.plan_batches(pipe.services, run_id), approver)


def _batch_rows(pipe: Pipe) -> dict[str, Any]:
    with pipe.ws.engine.connect() as conn:
        return {row.id: row for row in conn.execute(batches.select())}


def _nothing_owed(pipe: Pipe) -> None:
    counts = pipe.ws.ledger.stage_counts()
    assert counts.get("draft", 0) == counts.get("company_signed", 0) == 0, counts
    crm = LocalCrm(pipe.ws.engine)
    stages = pipe.services.config.stages
    for record in pipe.ws.ledger.list_by_stage(Stage.SENT) + pipe.ws.ledger.list_by_stage(Stage.QUARANTINED):
        want = stages.awaiting if record.stage is Stage.SENT else stages.quarantined
        assert crm.get_deal_stage(int(record.deal_id)) == want, record


def test_a_run_never_approved_joins_the_next_runs_approval(pipe: Pipe) -> None:
    old = _prepared(pipe, "run-old")  # the director never answered; the run timed out
    drafts = pipe.ws.ledger.stage_counts()["draft"]
    planned = send.plan_batches(pipe.services, "run-new")
    resumed = [b for b in planned if b["resume"]]
    assert [b["batch_id"] for b in resumed] == [b["batch_id"] for b in old]
    for batch in planned:  # the deals are still in the trigger stage: this run's own batches find their documents
        counts = send.prepare_batch(pipe.services, batch)
        assert counts.get("prepared", 0) == 0 and not counts.get("errors"), counts
    summary = send.summarize_run(pipe.services, "run-new")
    assert summary["to_sign"] == drafts and summary["carried_over"] == {
        "batches": len(old), "from_runs": ["run-old"], "approved_before": 0}
    with pytest.raises(EsignError, match="not approved"):  # nothing is signed before this run's approval
        send.deliver_batch(pipe.services, planned[0])
    assert pipe.ws.ledger.stage_counts().get("company_signed", 0) == 0
    assert send.approve_run(pipe.services, "run-new", "director:maria") == len(planned)
    for batch in planned:
        send.deliver_batch(pipe.services, batch)
    _nothing_owed(pipe)
    rows = _batch_rows(pipe)
    assert {r.run_id for r in rows.values()} == {"run-new"}
    assert {r.approved_by for r in rows.values()} == {"director:maria"}
    assert send.plan_batches(pipe.services, "run-after") == [], "nothing left for a third run"


def test_a_batch_taken_over_before_its_approval_is_left_to_the_run_holding_it(pipe: Pipe) -> None:
    """Two runs started together: the second takes over the first's fresh batches before the first approved them.
    The first run's deliver leaves them (no "not approved" failure, nothing signed); the holder finishes them."""
    first = _prepared(pipe, "run-a")
    taken = [b for b in send.plan_batches(pipe.services, "run-b") if b["resume"]]
    assert [b["batch_id"] for b in taken] == [b["batch_id"] for b in first]
    assert send.approve_run(pipe.services, "run-a", "director:ana") == 0, "run-a holds nothing any more"
    for batch in first:
        assert send.deliver_batch(pipe.services, batch)["sign"] == {"handed_over": 1}
    assert pipe.ws.ledger.stage_counts().get("company_signed", 0) == 0
    with pytest.raises(EsignError, match="not approved"):  # the holder itself still needs its approval
        send.deliver_batch(pipe.services, taken[0])
    send.approve_run(pipe.services, "run-b", "director:bruno")
    for batch in taken:
        send.deliver_batch(pipe.services, batch)
    _nothing_owed(pipe)
    assert {r.approved_by for r in _batch_rows(pipe).values()} == {"director:bruno"}


def test_an_approved_batch_keeps_its_approval_and_is_finished_once(pipe: Pipe) -> None:
    old = _prepared(pipe, "run-a")
    send.approve_run(pipe.services, "run-a", "director:ana")
    send.sign_batch(pipe.services, old[0])  # killed after signing the first batch: nothing sent yet
    signed = {r.id for r in pipe.ws.ledger.list_batch(old[0]["batch_id"], [Stage.COMPANY_SIGNED])}
    assert signed
    _finish(pipe, "run-b", approver="director:bruno")
    rows = _batch_rows(pipe)
    assert {rows[b["batch_id"]].approved_by for b in old} == {"director:ana"}, "the approval that covered them stays"
    _nothing_owed(pipe)
    invites = [e for e in pipe.services.outbox.entries() if e.kind == "invite"]
    assert len(invites) == len({e.document_id for e in invites}) == len(pipe.ws.ledger.list_by_stage(Stage.SENT))
    for record_id in signed:
        assert [e.action for e in pipe.ws.ledger.events(record_id)].count("company_signed") == 1


def test_a_dry_run_leaves_drafts_the_next_real_run_signs(pipe: Pipe) -> None:
    dry = pipe.with_config(dry_run=True)
    send_after_plan(dry, "run-dry", send.plan_batches(dry, "run-dry"), "auto")
    assert pipe.ws.ledger.stage_counts().get("draft", 0) > 0
    assert not any(b["resume"] for b in send.plan_batches(dry, "run-dry-2")), "a dry run takes nothing over"
    pipe.with_config(dry_run=False)
    _finish(pipe, "run-real")
    _nothing_owed(pipe)


def test_a_draft_whose_deal_left_the_trigger_stage_is_canceled_not_sent(pipe: Pipe) -> None:
    _prepared(pipe, "run-x")
    draft = pipe.ws.ledger.list_by_stage(Stage.DRAFT)[0]
    LocalCrm(pipe.ws.engine).move_deal(int(draft.deal_id), "C1:LOSE")  # the manager gave up on the deal
    _finish(pipe, "run-y")
    record = pipe.ws.ledger.get(draft.id)
    assert record.stage is Stage.CANCELED and record.reason == resume.LEFT_TRIGGER
    assert pipe.services.outbox.entries(document_id=draft.id) == []
    _nothing_owed(pipe)


def test_a_quarantine_the_crm_refused_is_written_back_by_the_next_runs(pipe: Pipe,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    crm = pipe.services.crm

    def refuse(deal_id: int, text: str, files: Any = ()) -> Any:
        raise CrmError("503 service unavailable")

    with monkeypatch.context() as patched:
        patched.setattr(crm, "add_comment", refuse)
        _prepared(pipe, "run-q")
    quarantined = pipe.ws.ledger.list_by_stage(Stage.QUARANTINED)
    assert quarantined and crm.get_deal_stage(int(quarantined[0].deal_id)) == "C1:PREPARATION"
    assert resume.open_batches(pipe.services), "owed write-backs keep the batches open"
    counts = collect.write_back_endings(pipe.services)  # a collect run in between writes them back too
    assert counts["quarantined"] == len(quarantined)
    _finish(pipe, "run-q2")
    _nothing_owed(pipe)
    for record in quarantined:
        assert len(LocalCrm(pipe.ws.engine).comments(int(record.deal_id))) == 1


def test_collect_finishes_an_approved_batch_a_dead_run_left_but_not_an_unapproved_one(pipe: Pipe) -> None:
    approved = _prepared(pipe, "run-dead")
    send.approve_run(pipe.services, "run-dead", "director")
    assert collect.resume_idle_batches(pipe.services) == ({}, []), "touched just now: maybe still running"
    with pipe.ws.engine.begin() as conn:  # 20 minutes without a sign of life
        conn.execute(batches.update().values(updated_at=datetime.now(UTC) - timedelta(minutes=20)))
    with pipe.ws.engine.begin() as conn:  # and one batch that nobody approved
        conn.execute(batches.update().where(batches.c.id == approved[-1]["batch_id"]).values(approved_by=None))
    done, failures = collect.resume_idle_batches(pipe.services)
    assert failures == [] and done["batches"] == len(approved) - 1
    assert {r.stage for r in pipe.ws.ledger.list_batch(approved[-1]["batch_id"])} <= {Stage.DRAFT, Stage.QUARANTINED}
    assert not [r for b in approved[:-1] for r in pipe.ws.ledger.list_batch(b["batch_id"], [Stage.DRAFT])]


def test_deliver_fails_loudly_after_recording_what_it_did(pipe: Pipe) -> None:
    planned = _prepared(pipe, "run-l")
    send.approve_run(pipe.services, "run-l", "director")
    pipe.mail.stop()
    with pytest.raises(UnfinishedWorkError, match=r"company-signed document\(s\) whose invitation did not go out"):
        send.deliver_batch(pipe.services, planned[0])
    emailed = pipe.ws.ledger.list_batch(planned[0]["batch_id"], [Stage.COMPANY_SIGNED])
    assert emailed, "signed and recorded; only the e-mails wait"
    pipe.mail.start()
    send.deliver_batch(pipe.services, planned[0])  # the task's retry
    assert pipe.ws.ledger.list_batch(planned[0]["batch_id"], [Stage.COMPANY_SIGNED]) == []


def test_after_an_smtp_outage_one_collect_run_delivers_and_moves_the_deals(pipe: Pipe) -> None:
    planned = _prepared(pipe, "run-o")
    send.approve_run(pipe.services, "run-o", "director")
    pipe.mail.stop()
    for batch in planned:
        with pytest.raises(UnfinishedWorkError):
            send.deliver_batch(pipe.services, batch)
    with pytest.raises(UnfinishedWorkError, match=r"message\(s\) still pending"):
        collect.wrap_up(pipe.services)  # still down: the collect run says so
    pipe.mail.start()
    summary = collect.wrap_up(pipe.services)  # back: delivered first, then written back, in this one run
    assert summary["catch_up"]["sent"] > 0
    assert summary["write_back"]["awaiting"] == summary["catch_up"]["sent"]
    _nothing_owed(pipe)
    with pipe.ws.engine.connect() as conn:
        assert {r.state for r in conn.execute(crm_sync.select())} == {"done"}
