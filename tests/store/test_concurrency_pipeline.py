"""Several worker PROCESSES run the send steps over the same batches at once, on PostgreSQL, with a real SMTP
server: no deal gets two documents, no request two invitations, no event is lost, and every document's stage
agrees with its event log.

Each worker is a separate Python process (``python -c`` importing :func:`worker` from this module): it builds its
own services, says it is ready, waits for the common start signal, then prepares, signs and dispatches every
batch, in an order of its own so that the workers overlap on every batch.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from esign.config import Settings
from esign.dispatch.email import SmtpSettings
from esign.dispatch.mailserver import LocalMailServer, read_messages
from esign.dispatch.outbox_schema import outbox
from esign.model import Stage
from esign.pipeline.config import PipelineConfig
from esign.pipeline.services import Services
from esign.requests.schema import signing_requests
from esign.store import init_schema, make_engine
from esign.store.schema import documents, events
from esign.workspace import Workspace
from tests.prod.postgres import throwaway_database
from tests.support import PROJECT_DIR, TEST_PASSPHRASE

pytestmark = pytest.mark.postgres

WORKERS = 3
DEALS = 24
BATCH_SIZE = 4
LINK_SECRET = "concurrency-tests-link-secret-0123456789ab"


def build_services(home: Path, url: str, smtp_port: int) -> Services:
    settings = Settings.from_env({"ESIGN_HOME": str(home), "ESIGN_DATABASE_URL": url,
                                  "ESIGN_PUBLIC_URL": "http://127.0.0.1:9", "ESIGN_LINK_SECRET": LINK_SECRET},
                                 project_dir=PROJECT_DIR)
    ws = Workspace(settings, passphrase=TEST_PASSPHRASE)
    return Services(ws=ws, config=PipelineConfig(auto_approve=True, batch_size=BATCH_SIZE),
                    smtp=SmtpSettings(host="127.0.0.1", port=smtp_port))


def _wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def worker(number: int, home: str, url: str, smtp_port: int, batches_json: str) -> None:
    """One worker process: every step over every batch, starting together with the others."""
    from esign.pipeline import send

    services = build_services(Path(home), url, smtp_port)
    services.ws.sealer  # noqa: B018 -- load keys and templates before the start signal, not inside the race
    services.ws.templates.get(services.config.template)
    batches = json.loads(batches_json)
    order = batches[number:] + batches[:number]  # each worker starts on a different batch
    Path(home, f"ready-{number}").touch()
    _wait_for(lambda: Path(home, "go").exists(), 120, "the start signal")
    totals: Counter[str] = Counter()
    for step in (send.prepare_batch, send.sign_batch, send.dispatch_batch):
        for batch in order:
            totals.update({f"{step.__name__}.{k}": v for k, v in step(services, batch).items()})
    print(json.dumps(totals))


def test_workers_racing_over_the_same_batches(tmp_path: Path, core_settings: Settings) -> None:
    from esign.crm.seed import seed_demo
    from esign.pipeline import send

    home = tmp_path / "home"
    home.mkdir()
    shutil.copytree(core_settings.keys_dir, home / "keys")
    with throwaway_database("esign_race") as url, LocalMailServer(home / "mail") as mail:
        engine = make_engine(url)
        init_schema(engine)
        seeded = seed_demo(engine, DEALS, rng_seed=5)
        services = build_services(home, url, mail.port)
        batches = send.plan_batches(services, "race-run")
        send.approve_run(services, "race-run", "tester")
        assert len(batches) == DEALS // BATCH_SIZE

        code = ("import sys; from tests.store.test_concurrency_pipeline import worker; "
                "worker(int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])")
        logs = [(tmp_path / f"worker-{n}.out", tmp_path / f"worker-{n}.err") for n in range(WORKERS)]
        procs = []
        for n, (out, err) in enumerate(logs):
            with out.open("w") as stdout, err.open("w") as stderr:
                procs.append(subprocess.Popen(
                    [sys.executable, "-c", code, str(n), str(home), url, str(mail.port), json.dumps(batches)],
                    cwd=PROJECT_DIR, env=dict(os.environ), stdout=stdout, stderr=stderr))
        try:
            _wait_for(lambda: all((home / f"ready-{n}").exists() or procs[n].poll() is not None
                                  for n in range(WORKERS)), 180, "the workers to start")
            (home / "go").touch()
            for proc in procs:
                proc.wait(timeout=300)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        details = "\n".join(f"--- worker {n}\n{out.read_text()[-2000:]}\n{err.read_text()[-4000:]}"
                            for n, (out, err) in enumerate(logs))
        assert [p.returncode for p in procs] == [0] * WORKERS, details
        totals = [json.loads(out.read_text().strip().splitlines()[-1]) for out, _ in logs]
        assert not any(k.endswith(".errors") or k.endswith(".failed") for t in totals for k in t), totals

        ledger = services.ws.ledger
        with engine.connect() as conn:
            docs = conn.execute(select(documents.c.id, documents.c.deal_id, documents.c.stage)).all()
            per_deal = Counter(d.deal_id for d in docs)
            requests = conn.execute(select(signing_requests.c.document_id, signing_requests.c.channel)).all()
            invites = conn.execute(select(outbox.c.request_id, outbox.c.channel, outbox.c.state, outbox.c.message_id)
                                   .where(outbox.c.kind == "invite")).all()
            actions = conn.execute(select(events.c.document_id, events.c.action).order_by(events.c.id)).all()
            total_events = conn.execute(select(func.count()).select_from(events)).scalar_one()

        # one document per deal+template
        assert len(docs) == DEALS and set(per_deal.values()) == {1}
        stages = Counter(d.stage for d in docs)
        assert stages == {"sent": DEALS - len(seeded.broken), "quarantined": len(seeded.broken)}, stages
        sent_docs = {d.id for d in docs if d.stage == "sent"}

        # one request and one invitation per sent document, each delivered once
        assert sorted(r.document_id for r in requests) == sorted(sent_docs)
        assert len(invites) == len(sent_docs) and {i.state for i in invites} == {"sent"}
        assert len({i.request_id for i in invites}) == len(invites)
        email_ids = {i.message_id for i in invites if i.channel == "email"}
        messages = read_messages(home / "mail")
        assert sorted(m.message["Message-ID"] for m in messages) == sorted(email_ids)  # one .eml per email invite
        sms_file = home / "sms" / "outbox.jsonl"
        sms_lines = sms_file.read_text().splitlines() if sms_file.exists() else []
        sms_refs = [json.loads(line)["reference"] for line in sms_lines]
        assert sorted(sms_refs) == sorted(i.message_id for i in invites if i.channel == "sms")

        # every event present exactly once, in order, and each stage agrees with the event log
        per_doc: dict[str, list[str]] = {}
        for document_id, action in actions:
            per_doc.setdefault(document_id, []).append(action)
        for doc in docs:
            expected = ["created", "company_signed", "sent"] if doc.id in sent_docs else ["quarantined"]
            assert per_doc[doc.id] == expected, (doc.id, per_doc[doc.id])
            assert ledger.derived_stage(doc.id) is Stage(doc.stage)
        assert total_events == len(actions) == sum(len(v) for v in per_doc.values())
        # the workers really overlapped: more than one of them signed or sent something
        busy = [t for t in totals if t.get("sign_batch.signed", 0) or t.get("dispatch_batch.sent", 0)]
        assert len(busy) > 1, totals
        engine.dispose()
