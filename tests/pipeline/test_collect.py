"""esign_collect's steps without Airflow: finalize + CRM, declines, reminders, expiry, a new round."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from esign.crm.local import LocalCrm
from esign.model import Stage
from esign.pipeline import collect, send, writeback
from esign.verify import verify_pdf
from tests.pipeline.conftest import Pipe, client_declines, client_signs, run_send


def test_signed_documents_are_sealed_verified_and_attached_to_the_deal(pipe: Pipe) -> None:
    run_send(pipe.services)
    sent = pipe.ws.ledger.list_by_stage(Stage.SENT)
    for record in sent[:3]:
        client_signs(pipe.services, record.id)
    ids = [r.id for r in pipe.ws.ledger.list_by_stage(Stage.CLIENT_SIGNED)]
    assert sorted(ids) == sorted(r.id for r in sent[:3])
    counts = collect.finalize_documents(pipe.services, ids)
    assert counts == {"finalized": 3, "written_back": 3}
    crm = LocalCrm(pipe.ws.engine)
    for doc_id in ids:
        record = pipe.ws.ledger.get(doc_id)
        assert record.stage is Stage.COMPLETED
        data = pipe.ws.version_path("final", doc_id).read_bytes()
        assert verify_pdf(data, pipe.ws.ledger, pipe.ws.trust_roots).authentic
        assert crm.get_deal_stage(int(record.deal_id)) == "C1:WON"
        last = crm.comments(int(record.deal_id))[-1]
        assert doc_id in last.text and last.files == ((f"{doc_id}.pdf", data),)
    # a retried finalize task repeats nothing
    assert collect.finalize_documents(pipe.services, ids) == {}
    assert len(crm.comments(int(pipe.ws.ledger.get(ids[0]).deal_id))) == 2  # "sent" + "signed"


def test_declines_move_the_deal_with_the_reason(pipe: Pipe) -> None:
    run_send(pipe.services)
    record = pipe.ws.ledger.list_by_stage(Stage.SENT)[0]
    client_declines(pipe.services, record.id, "Prazo de pagamento inaceitável")
    assert collect.write_back_endings(pipe.services) == {"declined": 1}
    assert collect.write_back_endings(pipe.services) == {}
    crm = LocalCrm(pipe.ws.engine)
    assert crm.get_deal_stage(int(record.deal_id)) == "C1:LOSE"
    assert "Prazo de pagamento inaceitável" in crm.comments(int(record.deal_id))[-1].text


def test_declined_deal_moved_back_gets_a_new_round(pipe: Pipe) -> None:
    run_send(pipe.services)
    record = pipe.ws.ledger.list_by_stage(Stage.SENT)[0]
    client_declines(pipe.services, record.id)
    collect.write_back_endings(pipe.services)
    LocalCrm(pipe.ws.engine).move_deal(int(record.deal_id), "C1:PREPARATION")
    [batch] = send.plan_batches(pipe.services, "run-2")
    assert send.prepare_batch(pipe.services, batch) == {"missing": 0, "prepared": 1}
    latest = pipe.ws.ledger.latest_for_deal(crm="local", deal_id=record.deal_id, template_id=record.template_id)
    assert latest is not None and latest.round == 2 and latest.id != record.id


def test_reminders_follow_the_schedule_and_the_limit(pipe: Pipe) -> None:
    run_send(pipe.services)
    pending = len(pipe.ws.ledger.list_by_stage(Stage.SENT))
    base = datetime.now(UTC)
    services = pipe.services
    services.requests._clock = lambda: base + timedelta(days=3, minutes=1)  # type: ignore[attr-defined]
    assert collect.send_reminders(services, now=base + timedelta(days=3, minutes=1))["queued"] == pending
    assert collect.send_reminders(services, now=base + timedelta(days=3, minutes=2))["queued"] == 0
    services.requests._clock = lambda: base + timedelta(days=7)  # type: ignore[attr-defined]
    assert collect.send_reminders(services, now=base + timedelta(days=7))["queued"] == pending
    services.requests._clock = lambda: base + timedelta(days=11)  # type: ignore[attr-defined]
    assert collect.send_reminders(services, now=base + timedelta(days=11))["queued"] == 0  # max 2
    reminders = [e for e in services.outbox.entries() if str(e.kind) == "reminder"]
    assert len(reminders) == 2 * pending and all(str(e.state) == "sent" for e in reminders)


def test_expired_links_end_the_document_and_the_deal(pipe: Pipe) -> None:
    run_send(pipe.services)
    sent = pipe.ws.ledger.list_by_stage(Stage.SENT)
    client_signs(pipe.services, sent[0].id)
    later = datetime.now(UTC) + timedelta(days=15)
    assert collect.expire_requests(pipe.services, now=later) == {"expired": len(sent) - 1}
    assert pipe.ws.ledger.get(sent[0].id).stage is Stage.CLIENT_SIGNED
    assert collect.write_back_endings(pipe.services) == {"expired": len(sent) - 1}
    crm = LocalCrm(pipe.ws.engine)
    assert crm.get_deal_stage(int(sent[1].deal_id)) == "C1:UC_EXPIRED"


def test_finalize_chunks_are_few_on_big_runs_and_never_tiny() -> None:
    assert collect.finalize_chunk_size(0) == collect.FINALIZE_CHUNK_MIN
    assert collect.finalize_chunk_size(10) == collect.FINALIZE_CHUNK_MIN
    assert collect.finalize_chunk_size(1_000) == 250  # two chunks per worker
    assert collect.finalize_chunk_size(9_121) == 2281  # 4 equal chunks, 2 per worker: none idles at the end
    assert collect.finalize_chunk_size(20_001) == 2001  # 9 chunks of at most 2,500 -> 10, a multiple of 2
    assert collect.finalize_chunk_size(100_000) == collect.FINALIZE_CHUNK_MAX
    assert collect.finalize_chunk_size(1_000, workers=4) == 125


def test_a_collect_run_is_start_ranges_and_wrap_up(pipe: Pipe, monkeypatch: pytest.MonkeyPatch) -> None:
    run_send(pipe.services)
    sent = pipe.ws.ledger.list_by_stage(Stage.SENT)
    for record in sent[:-1]:
        client_signs(pipe.services, record.id)
    client_declines(pipe.services, sent[-1].id)
    monkeypatch.setattr(collect, "FINALIZE_CHUNK_MIN", 3)  # several ranges out of a small run
    ranges = collect.start_run(pipe.services)
    signed = sorted(r.id for r in pipe.ws.ledger.list_by_stage(Stage.CLIENT_SIGNED))
    assert [r["count"] for r in ranges] == [3] * (len(signed) // 3) + ([len(signed) % 3] if len(signed) % 3 else [])
    assert ranges[0]["after"] == "" and ranges[-1]["upto"] == signed[-1]
    assert all(a["upto"] == b["after"] for a, b in pairwise(ranges))  # no gap, no overlap
    done = [collect.finalize_range(pipe.services, r) for r in ranges]
    assert sum(c.get("finalized", 0) for c in done) == len(signed)
    assert collect.finalize_range(pipe.services, ranges[0]) == {}  # a retried range finds nothing left
    summary = collect.wrap_up(pipe.services)
    assert summary["write_back"]["declined"] == 1
    assert pipe.ws.ledger.stage_counts()["completed"] == len(signed)


def test_a_deleted_deal_ends_its_write_back_and_the_others_are_written_back(pipe: Pipe) -> None:
    run_send(pipe.services)
    sent = pipe.ws.ledger.list_by_stage(Stage.SENT)[:3]
    for record in sent:
        client_signs(pipe.services, record.id)
    crm = LocalCrm(pipe.ws.engine)
    assert crm.delete_deal(int(sent[1].deal_id))  # deleted in the CRM while the client was signing
    counts = collect.finalize_documents(pipe.services, [r.id for r in sent])
    assert counts == {"finalized": 3, "written_back": 2, "crm_gone": 1}
    assert all(pipe.ws.ledger.get(r.id).stage is Stage.COMPLETED for r in sent)  # sealed all the same
    assert crm.get_deal_stage(int(sent[0].deal_id)) == crm.get_deal_stage(int(sent[2].deal_id)) == "C1:WON"
    # a deleted deal ends its write-back (gone): nothing is owed, the next run does not try it again
    assert writeback.is_done(pipe.services, sent[1].id, "signed")
    assert writeback.gone_count(pipe.ws.engine) == 1
    assert collect.write_back_endings(pipe.services) == {}


def test_a_final_file_that_is_missing_or_altered_is_not_written_back(pipe: Pipe,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    run_send(pipe.services)
    sent = pipe.ws.ledger.list_by_stage(Stage.SENT)[:3]
    for record in sent:
        client_signs(pipe.services, record.id)
    ids = [r.id for r in sent]
    real = collect.seal_documents

    def seal_then_damage(*args: Any, **kw: Any) -> Any:  # what a bad disk or a person does after sealing
        outcome = real(*args, **kw)
        pipe.ws.version_path("final", ids[0]).unlink()
        altered = pipe.ws.version_path("final", ids[1])
        altered.write_bytes(altered.read_bytes().replace(b"/Producer", b"/Pr0ducer", 1))
        return outcome

    monkeypatch.setattr(collect, "seal_documents", seal_then_damage)
    assert collect.finalize_documents(pipe.services, ids) == {"finalized": 3, "errors": 2, "written_back": 1}
    crm = LocalCrm(pipe.ws.engine)
    assert [crm.get_deal_stage(int(r.deal_id)) == "C1:WON" for r in sent] == [False, False, True]
    assert [e.action for e in pipe.ws.ledger.events(ids[1])][-1] == "completed"  # no "verified" event
