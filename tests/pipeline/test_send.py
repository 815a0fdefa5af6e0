"""esign_send's steps without Airflow: exactly once, quarantine, approval, crashes and a dead SMTP server."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from esign.crm.local import LocalCrm
from esign.dispatch.email import SmtpSender
from esign.dispatch.outbox import Outbox
from esign.errors import EsignError
from esign.model import Stage
from esign.pipeline import collect, send
from esign.reasons import describe_reason
from tests.pipeline.conftest import Pipe, run_send


def _invites_per_document(pipe: Pipe) -> Counter[str]:
    return Counter(m.header("X-Esign-Document") for m in pipe.messages())


def _sms_count(pipe: Pipe) -> int:
    """Invitations the SMS outbox file holds (one JSON line each)."""
    sms = pipe.workdir / "sms" / "outbox.jsonl"
    return len(sms.read_text().splitlines()) if sms.exists() else 0


def test_a_run_sends_each_valid_deal_once_and_quarantines_the_broken(pipe: Pipe) -> None:
    batches = run_send(pipe.services)
    assert [b["count"] for b in batches] == [5, 5, 2]
    ledger, crm = pipe.ws.ledger, LocalCrm(pipe.ws.engine)
    counts = ledger.stage_counts()
    broken = len(pipe.seeded.broken)
    assert broken >= 3
    assert counts.get("quarantined", 0) == broken
    assert counts.get("sent", 0) == 12 - broken
    email_docs = _invites_per_document(pipe)
    assert set(email_docs.values()) <= {1}
    assert len(email_docs) + _sms_count(pipe) == 12 - broken
    stages = Counter(crm.get_deal_stage(d) for d in range(pipe.seeded.first_deal_id, pipe.seeded.last_deal_id + 1))
    assert stages == {"C1:EXECUTING": 12 - broken, "C1:UC_REVIEW": broken}
    for record in ledger.list_by_stage(Stage.QUARANTINED):
        comments = crm.comments(int(record.deal_id))
        assert len(comments) == 1 and record.reason
        shown = describe_reason(record.reason, pipe.ws.company.translator())  # the company's language (pt-BR)
        assert shown != record.reason and shown in comments[0].text, (shown, comments[0].text)
        field = record.reason.split(":")[0]
        assert field.startswith(("counterparty.", "title", "amount"))


def test_running_again_and_retrying_every_step_changes_nothing(pipe: Pipe) -> None:
    batches = run_send(pipe.services)
    before = (pipe.ws.ledger.stage_counts(), len(pipe.messages()), pipe.services.outbox.counts())
    events_before = sum(len(pipe.ws.ledger.events(r.id)) for s in Stage for r in pipe.ws.ledger.list_by_stage(s))
    # a second run finds no deals in the trigger stage; retries of the first run's tasks redo nothing
    assert send.plan_batches(pipe.services, "run-2") == []
    for batch in batches:
        assert send.prepare_batch(pipe.services, batch).get("prepared", 0) == 0
        again = send.deliver_batch(pipe.services, batch)
        assert set(again) == {"sign", "dispatch", "crm"}
        assert not again["sign"].get("signed") and not again["dispatch"].get("sent") and not again["crm"].get("moved")
    after = (pipe.ws.ledger.stage_counts(), len(pipe.messages()), pipe.services.outbox.counts())
    events_after = sum(len(pipe.ws.ledger.events(r.id)) for s in Stage for r in pipe.ws.ledger.list_by_stage(s))
    assert after == before and events_after == events_before


def test_deals_moved_back_to_the_trigger_get_no_second_document(pipe: Pipe) -> None:
    run_send(pipe.services)
    crm = LocalCrm(pipe.ws.engine)
    sent = pipe.ws.ledger.list_by_stage(Stage.SENT)
    crm.move_deal(int(sent[0].deal_id), "C1:PREPARATION")  # someone drags it back while it is out for signature
    batches = send.plan_batches(pipe.services, "run-2")
    assert len(batches) == 1
    counts = send.prepare_batch(pipe.services, batches[0])
    assert counts == {"missing": 0, "existing": 1}
    assert len(pipe.ws.ledger.list_by_stage(Stage.SENT)) == len(sent)


def test_a_batch_nobody_approved_is_not_signed(pipe: Pipe) -> None:
    batches = send.plan_batches(pipe.services, "run-x")
    send.prepare_batch(pipe.services, batches[0])
    with pytest.raises(EsignError, match="not approved"):
        send.sign_batch(pipe.services, batches[0])
    with pytest.raises(EsignError, match=f"batch {batches[0]['batch_id']}: not approved"):
        send.deliver_batch(pipe.services, batches[0])
    assert pipe.ws.ledger.stage_counts().get("company_signed", 0) == 0
    assert pipe.messages() == []


def test_deliver_signs_sends_and_moves_a_batch_with_each_steps_counts(pipe: Pipe) -> None:
    batches = send.plan_batches(pipe.services, "run-d")
    prepared = [send.prepare_batch(pipe.services, b).get("prepared", 0) for b in batches]
    send.approve_run(pipe.services, "run-d", "tester")
    done = send.deliver_batch(pipe.services, batches[0])
    assert done["sign"]["signed"] == prepared[0]
    assert done["dispatch"]["sent"] == prepared[0]
    assert done["crm"]["moved"] == prepared[0]
    assert len(pipe.messages()) + _sms_count(pipe) == prepared[0]
    # the other batches are untouched until their own deliver runs
    assert pipe.ws.ledger.stage_counts()["draft"] == sum(prepared[1:])


def test_dry_run_renders_but_signs_and_sends_nothing(pipe: Pipe) -> None:
    services = pipe.with_config(dry_run=True)
    run_send(services)
    counts = pipe.ws.ledger.stage_counts()
    assert counts.get("draft", 0) + counts.get("quarantined", 0) == 12
    assert pipe.messages() == []
    assert LocalCrm(pipe.ws.engine).get_deal_stage(pipe.seeded.first_deal_id) == "C1:PREPARATION"


def test_crash_between_sending_and_recording_never_sends_twice(pipe: Pipe) -> None:
    services = pipe.services
    batches = send.plan_batches(services, "run-c")
    for batch in batches:
        send.prepare_batch(services, batch)
    send.approve_run(services, "run-c", "tester")
    batch = batches[0]
    send.sign_batch(services, batch)
    record = pipe.ws.ledger.list_batch(batch["batch_id"], [Stage.COMPANY_SIGNED])[0]
    # the worker records the intent, the server accepts the message, then the worker dies before mark_sent
    from esign.requests.messages import invite_message

    request = services.requests.create(record.id, "email", record.counterparty_email or "x@example.com",
                                       datetime.now(UTC) + timedelta(days=14))
    entry = services.outbox.enqueue(invite_message(services, request, record))
    [claimed] = services.outbox.claim([entry.id], 1)
    with SmtpSender(services.smtp) as sender:
        sender.send(claimed)
    assert _invites_per_document(pipe)[record.id] == 1
    # the retry of the task sends the others but not the one left "sending"
    send.dispatch_batch(services, batch)
    assert _invites_per_document(pipe)[record.id] == 1
    assert pipe.ws.ledger.get(record.id).stage is Stage.COMPANY_SIGNED
    # recovery later: the stale row becomes uncertain, the document counts as sent, nothing is re-sent
    services.outbox = Outbox(pipe.ws.engine, clock=lambda: datetime.now(UTC) + timedelta(hours=1))
    result = collect.recover(services)
    assert result["uncertain"] == 1
    assert pipe.ws.ledger.get(record.id).stage is Stage.SENT
    collect.deliver_leftovers(services)
    assert _invites_per_document(pipe)[record.id] == 1
    events = [e for e in pipe.ws.ledger.events(record.id) if e.action == "sent"]
    assert len(events) == 1 and "incerto" in events[0].detail


def test_smtp_down_then_back_sends_each_invitation_once(pipe: Pipe) -> None:
    services = pipe.services
    batches = send.plan_batches(services, "run-d")
    for batch in batches:
        send.prepare_batch(services, batch)
    send.approve_run(services, "run-d", "tester")
    pipe.mail.stop()
    for batch in batches:
        send.sign_batch(services, batch)
        counts = send.dispatch_batch(services, batch)
        assert counts.get("sent", 0) == 0
    assert pipe.ws.ledger.stage_counts().get("sent", 0) == 0
    pipe.mail.start()
    for batch in batches:
        send.dispatch_batch(services, batch)
    email_docs = _invites_per_document(pipe)
    assert email_docs and set(email_docs.values()) == {1}
    assert pipe.ws.ledger.stage_counts().get("company_signed", 0) == 0


def test_unknown_stage_in_the_configuration_fails_before_any_deal(pipe: Pipe) -> None:
    from dataclasses import replace

    from esign.crm.config import CrmConfigError

    services = pipe.with_config(stages=replace(pipe.services.config.stages, awaiting="C1:NOPE"))
    with pytest.raises(CrmConfigError, match="C1:NOPE"):
        send.plan_batches(services, "run-bad")
    assert pipe.ws.ledger.stage_counts() == {}


def test_the_directors_summary_counts_the_run_and_samples_its_drafts(pipe: Pipe) -> None:
    services = pipe.services
    batches = send.plan_batches(services, "run-sum")
    for batch in batches:
        send.prepare_batch(services, batch)
    drafts = [r for b in batches for r in pipe.ws.ledger.list_batch(str(b["batch_id"]), [Stage.DRAFT])]
    summary = send.summarize_run(services, "run-sum", sample_size=3)
    assert summary["batches"] == len(batches) == 3
    assert sum(summary["stages"].values()) == 12 and summary["to_sign"] == len(drafts)
    assert summary["stages"].get("quarantined", 0) == 12 - len(drafts)
    assert [s["document"] for s in summary["sample"]] == [r.id for r in drafts[:3]]  # batch order, then ID order
    assert summary["sample"][0]["deal"] == drafts[0].deal_id
    assert send.summarize_run(services, "no-such-run") == {
        "run_id": "no-such-run", "batches": 0, "stages": {}, "to_sign": 0, "sample": [],
        "carried_over": {"batches": 0, "from_runs": [], "approved_before": 0}}
