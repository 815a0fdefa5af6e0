"""The loop closes: each sealed document reaches its client as the final signed copy, exactly once, over real SMTP
on loopback; through an outage, a crash between sealing and sending, and new runs."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from esign.config import Settings
from esign.crm.seed import seed_demo
from esign.dispatch.email import SmtpSettings
from esign.dispatch.mailserver import LocalMailServer
from esign.dispatch.records import MessageKind, OutboxState
from esign.errors import UnfinishedWorkError
from esign.model import Stage
from esign.model.labels import event_label
from esign.pipeline import collect, final_copy
from esign.pipeline.config import PipelineConfig
from esign.pipeline.services import Services
from esign.workspace import Workspace
from tests.pipeline.conftest import Pipe, client_signs, run_send
from tests.prod.postgres import throwaway_database
from tests.support import PROJECT_DIR, TEST_PASSPHRASE


def _signed(pipe: Pipe, channel: str = "email", count: int = 2) -> list[str]:
    """Send the run and have ``count`` clients reached by ``channel`` sign; their document IDs."""
    if channel == "sms":
        pipe.with_config(channel="sms")
    run_send(pipe.services)
    ids = []
    for record in pipe.ws.ledger.list_by_stage(Stage.SENT):
        request = pipe.services.requests.for_document(record.id)
        if request is not None and request.channel == channel and len(ids) < count:
            client_signs(pipe.services, record.id)
            ids.append(record.id)
    assert len(ids) == count, f"the seeded deals give {count} {channel} clients"
    return ids


def _new_run(pipe: Pipe) -> Services:
    """Another collect run: a new process's services over the same ledger, outbox and mail."""
    return Services(ws=pipe.ws, config=pipe.services.config, smtp=pipe.services.smtp)


def _final_copies(pipe: Pipe, *, clients_only: bool = True) -> list[tuple[str, bytes | None, str]]:
    """(document, attached PDF or None, plain text) of every final-copy e-mail the server received (by default
    only the clients', not the managers' or the company's copies)."""
    found = []
    for received in pipe.messages():
        msg = received.message
        if not str(msg["Subject"]).startswith("Assinado por todas as partes"):
            continue
        doc_id = str(msg["X-Esign-Document"])
        request = pipe.services.requests.for_document(doc_id)
        if clients_only and (request is None or request.destination not in str(msg["To"])):
            continue
        files = [p.get_content() for p in msg.iter_attachments()]
        found.append((doc_id, files[0] if files else None, received.text))
    return found


def _recipients(pipe: Pipe, doc_id: str) -> int:
    """The client, and the responsible manager when the CRM gave an e-mail."""
    return 1 + bool(pipe.ws.ledger.get(doc_id).manager_email)


def _sent_events(pipe: Pipe, doc_id: str) -> int:
    return len([e for e in pipe.ws.ledger.events(doc_id) if e.action == "final_copy_sent"])


def test_each_sealed_document_reaches_its_client_once_across_runs(pipe: Pipe) -> None:
    ids = _signed(pipe)
    collect.finalize_documents(pipe.services, ids)
    summary = collect.wrap_up(pipe.services)
    total = sum(_recipients(pipe, i) for i in ids)
    assert summary["final_copy"] == {"queued": total, "sent": total, "recorded": total}
    copies = _final_copies(pipe)
    assert sorted(doc for doc, _, _ in copies) == sorted(ids)
    for doc_id, attached, text in copies:
        assert attached == pipe.ws.version_path("final", doc_id).read_bytes(), "the sealed file itself"
        assert "segue anexa" in text and doc_id in text
        request = pipe.services.requests.for_document(doc_id)
        assert request is not None
        to = [str(m.message["To"]) for m in pipe.messages() if m.message["X-Esign-Document"] == doc_id]
        assert any(request.destination in t for t in to)
        sent = [e for e in pipe.ws.ledger.events(doc_id) if e.action == "final_copy_sent"]
        assert len(sent) == _recipients(pipe, doc_id) and {e.channel for e in sent} == {"email"}
        assert all("@" in e.detail for e in sent)
    for _ in range(2):  # new runs, and a retry of the same one: nothing is sent or recorded twice
        again = collect.wrap_up(_new_run(pipe))
        assert "final_copy" not in again or again["final_copy"] == {}
    assert len(_final_copies(pipe)) == 2 and len(_final_copies(pipe, clients_only=False)) == total
    assert all(_sent_events(pipe, i) == _recipients(pipe, i) for i in ids)
    rows = [e for e in pipe.services.outbox.entries() if e.kind == MessageKind.FINAL_COPY]
    assert sorted(e.dedupe_key for e in rows) == sorted(
        [f"final:{i}" for i in ids] + [f"final:{i}:manager" for i in ids if _recipients(pipe, i) == 2])


def test_a_crash_between_sealing_and_sending_is_caught_up_by_the_next_run(pipe: Pipe) -> None:
    ids = _signed(pipe, count=1)
    collect.finalize_documents(pipe.services, ids)  # the run stops here (worker killed before its wrap-up)
    assert _final_copies(pipe) == [] and pipe.ws.ledger.get(ids[0]).stage is Stage.COMPLETED
    assert [r.id for r in final_copy.owed(pipe.services)] == ids
    collect.wrap_up(_new_run(pipe))
    assert [doc for doc, _, _ in _final_copies(pipe)] == ids
    assert final_copy.owed(pipe.services) == []


def test_an_unverified_document_gets_no_final_copy(pipe: Pipe) -> None:
    ids = _signed(pipe, count=1)
    collect.finalize_documents(pipe.services, ids)
    with pipe.ws.engine.begin() as conn:  # as if the sealed file had not verified
        from esign.store.schema import events
        conn.execute(events.delete().where(events.c.document_id == ids[0], events.c.action == "verified"))
    assert final_copy.owed(pipe.services) == []


def test_a_relay_outage_leaves_the_copy_pending_and_the_next_run_sends_it_once(pipe: Pipe) -> None:
    ids = _signed(pipe, count=1)
    collect.finalize_documents(pipe.services, ids)
    pipe.mail.stop()
    with pytest.raises(UnfinishedWorkError, match=r"message\(s\) still pending"):
        collect.wrap_up(pipe.services)
    row = pipe.services.outbox.get_by_key(f"final:{ids[0]}")
    assert row is not None and row.state is OutboxState.PENDING
    assert _sent_events(pipe, ids[0]) == 0, "not sent: not recorded"
    pipe.mail.start()
    summary = collect.wrap_up(_new_run(pipe))  # queued by the run before, sent by this one's catch-up
    expected = _recipients(pipe, ids[0])
    assert summary["catch_up"]["sent"] == expected and summary["catch_up"]["final_copies_recorded"] == expected
    collect.wrap_up(_new_run(pipe))
    assert [doc for doc, _, _ in _final_copies(pipe)] == ids
    assert _sent_events(pipe, ids[0]) == expected


def test_a_copy_sent_by_the_catch_up_is_recorded_too(pipe: Pipe) -> None:
    ids = _signed(pipe, count=1)
    collect.finalize_documents(pipe.services, ids)
    pipe.mail.stop()
    expected = _recipients(pipe, ids[0])
    assert final_copy.send_final_copies(pipe.services) == {"queued": expected, "retried": expected}
    pipe.mail.start()
    caught = collect.deliver_leftovers(_new_run(pipe))
    assert caught["sent"] == expected and caught["final_copies_recorded"] == expected


def test_a_big_file_goes_as_a_link_to_the_clients_page(pipe: Pipe) -> None:
    ids = _signed(pipe, count=1)
    collect.finalize_documents(pipe.services, ids)
    collect.wrap_up(pipe.with_config(final_copy_attach_max_kb=0))
    [(doc_id, attached, text)] = _final_copies(pipe)
    request = pipe.services.requests.for_document(doc_id)
    assert request is not None and attached is None
    link = pipe.services.requests.link_for(request, pipe.ws.settings.public_url)
    assert link in text and "Baixe a via final assinada (PDF) aqui:" in text


def test_the_company_copy_address_gets_its_own_copy(pipe: Pipe) -> None:
    pipe.ws.company = replace(pipe.ws.company, final_copy_to="vendas@aurora.example")  # type: ignore[misc]
    ids = _signed(pipe, count=1)
    record = pipe.ws.ledger.get(ids[0])
    assert record.manager_email, "the seeded deal's manager has an e-mail in the CRM"
    collect.finalize_documents(pipe.services, ids)
    assert collect.wrap_up(pipe.services)["final_copy"] == {"queued": 3, "sent": 3, "recorded": 3}
    copies = {str(m.message["To"]): m for m in pipe.messages() if m.message["X-Esign-Document"] == ids[0]
              and str(m.message["Subject"]).startswith("Assinado")}
    assert len(copies) == 3 and "vendas@aurora.example" in copies and record.manager_email in copies
    assert copies[record.manager_email].text.startswith("Olá,\r\n")  # staff: no client's name in the greeting
    keys = sorted(e.dedupe_key for e in pipe.services.outbox.entries(document_id=ids[0])
                  if e.kind == MessageKind.FINAL_COPY)
    assert keys == [f"final:{ids[0]}", f"final:{ids[0]}:copy", f"final:{ids[0]}:manager"]
    assert _sent_events(pipe, ids[0]) == 3


def test_an_sms_client_gets_the_link_in_one_segment(pipe: Pipe) -> None:
    from esign.dispatch.texts import sms_segments

    ids = _signed(pipe, channel="sms", count=1)
    collect.finalize_documents(pipe.services, ids)
    collect.wrap_up(pipe.services)
    lines = (pipe.workdir / "sms" / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines if "foi assinado" in line]
    request = pipe.services.requests.for_document(ids[0])
    assert request is not None and len(texts) == 1
    assert texts[0].endswith(pipe.services.requests.link_for(request, pipe.ws.settings.public_url))
    assert sms_segments(texts[0]) == 1
    [event] = [e for e in pipe.ws.ledger.events(ids[0]) if e.action == "final_copy_sent" and e.channel == "sms"]
    assert event_label(event.action, pipe.ws.company.translator()) == \
        "Via final assinada enviada"


def test_dry_run_sends_no_final_copy(pipe: Pipe) -> None:
    ids = _signed(pipe, count=1)
    collect.finalize_documents(pipe.services, ids)
    assert final_copy.send_final_copies(pipe.with_config(dry_run=True)) == {}
    assert pipe.services.outbox.get_by_key(f"final:{ids[0]}") is None


def test_documents_completed_long_ago_are_not_looked_at(pipe: Pipe) -> None:
    from datetime import timedelta

    from esign.store.schema import documents

    ids = _signed(pipe, count=1)
    collect.finalize_documents(pipe.services, ids)
    old = pipe.ws.ledger.now() - final_copy.OWED_WINDOW - timedelta(minutes=1)
    with pipe.ws.engine.begin() as conn:
        conn.execute(documents.update().where(documents.c.id == ids[0]).values(updated_at=old))
    assert final_copy.owed(pipe.services) == []


@pytest.mark.postgres
def test_on_postgresql_each_client_gets_one_copy_across_runs(tmp_path: Path, core_settings: Settings) -> None:
    """The same queries on the production database: owed copies, then the events of the ones sent."""
    with throwaway_database("esign_final") as url, LocalMailServer(tmp_path / "mail") as mail:
        settings = Settings.from_env({"ESIGN_HOME": str(tmp_path), "ESIGN_DATABASE_URL": url,
                                      "ESIGN_PUBLIC_URL": "http://127.0.0.1:9",
                                      "ESIGN_LINK_SECRET": "final-copy-pg-link-secret-0123456789abcdef"},
                                     project_dir=PROJECT_DIR)
        shutil.copytree(core_settings.keys_dir, settings.keys_dir)
        ws = Workspace(settings, passphrase=TEST_PASSPHRASE)
        try:
            seed_demo(ws.engine, 6, rng_seed=11, signers_every=0)  # one signer per deal, like the Pipe fixture
            services = Services(ws=ws, config=PipelineConfig(auto_approve=True, batch_size=5),
                                smtp=SmtpSettings(host="127.0.0.1", port=mail.port))
            pipe = Pipe(services=services, mail=mail, seeded=None, workdir=tmp_path)  # type: ignore[arg-type]
            ids = _signed(pipe, count=1)
            collect.finalize_documents(services, ids)
            collect.wrap_up(services)
            collect.wrap_up(_new_run(pipe))
            assert [doc for doc, _, _ in _final_copies(pipe)] == ids
            assert _sent_events(pipe, ids[0]) == _recipients(pipe, ids[0])
        finally:
            ws.engine.dispose()
