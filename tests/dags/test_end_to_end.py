"""The DAGs end to end through Airflow (``dag.test()`` in child processes) on the embedded defaults.

Clients act between the two DAGs through the signing-request service (the portal's own flow is covered by
tests/portal and tests/browser). Asserted: counts per stage, one invitation per document even when esign_send
runs twice, sealed PDFs that verify, CRM stages, and one ``esign://documents/completed`` event for the collect run
that completed documents, none for the one that completed nothing.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from esign.config import Settings
from esign.crm.local import LocalCrm
from esign.crm.seed import seed_demo
from esign.dispatch.email import SmtpSettings
from esign.dispatch.mailserver import LocalMailServer, read_messages
from esign.model import Stage
from esign.pipeline.config import PipelineConfig
from esign.pipeline.services import Services
from esign.verify import verify_pdf
from esign.workspace import Workspace
from tests.dags.conftest import airflow_env, asset_events, run_dag
from tests.pipeline.conftest import LINK_SECRET, client_declines, client_signs
from tests.support import PROJECT_DIR, TEST_PASSPHRASE

pytestmark = pytest.mark.airflow

COMPLETED = "esign://documents/completed"


def test_send_twice_then_collect_through_airflow(tmp_path: Path, airflow_home: Path,
                                                  core_settings: Settings) -> None:
    workdir = tmp_path / "var"
    settings = Settings.from_env({"ESIGN_HOME": str(workdir), "ESIGN_PUBLIC_URL": "http://127.0.0.1:9",
                                  "ESIGN_LINK_SECRET": LINK_SECRET}, project_dir=PROJECT_DIR)
    shutil.copytree(core_settings.keys_dir, settings.keys_dir)
    ws = Workspace(settings, passphrase=TEST_PASSPHRASE)
    seeded = seed_demo(ws.engine, 10, rng_seed=3, signers_every=0)  # one signer per deal: 3 signatures, 3 sealed
    with LocalMailServer(tmp_path / "mail") as mail:
        env = airflow_env(airflow_home, ESIGN_HOME=str(workdir), ESIGN_PUBLIC_URL="http://127.0.0.1:9",
                          ESIGN_KEY_PASSPHRASE=TEST_PASSPHRASE.decode(), ESIGN_LINK_SECRET=LINK_SECRET,
                          ESIGN_SMTP_HOST="127.0.0.1", ESIGN_SMTP_PORT=str(mail.port))
        run_dag("esign_send", {"auto_approve": True, "batch_size": 4}, env, tmp_path / "send-1.log")
        broken = len(seeded.broken)
        expected_sent = 10 - broken
        assert broken >= 3
        assert ws.ledger.stage_counts() == {"sent": expected_sent, "quarantined": broken}
        invites = Counter(m.header("X-Esign-Document") for m in read_messages(tmp_path / "mail"))
        sms_file = workdir / "sms" / "outbox.jsonl"
        sms = len(sms_file.read_text().splitlines()) if sms_file.exists() else 0
        assert set(invites.values()) <= {1} and len(invites) + sms == expected_sent

        run_dag("esign_send", {"auto_approve": True, "batch_size": 4}, env, tmp_path / "send-2.log")
        assert ws.ledger.stage_counts() == {"sent": expected_sent, "quarantined": broken}
        assert len(read_messages(tmp_path / "mail")) == len(invites)

        services = Services(ws=ws, config=PipelineConfig(), smtp=SmtpSettings(port=mail.port))
        sent = ws.ledger.list_by_stage(Stage.SENT)
        for record in sent[:3]:
            client_signs(services, record.id)
        client_declines(services, sent[3].id)

        events_before = len(asset_events(airflow_home, COMPLETED))
        run_dag("esign_collect", {}, env, tmp_path / "collect.log")
        assert asset_events(airflow_home, COMPLETED)[events_before:] == [{"completed": 3}]
        run_dag("esign_collect", {}, env, tmp_path / "collect-2.log")  # nothing left to complete: no event
        assert asset_events(airflow_home, COMPLETED)[events_before:] == [{"completed": 3}]
    counts = ws.ledger.stage_counts()
    assert counts == {"completed": 3, "declined": 1, "sent": expected_sent - 4, "quarantined": broken}
    crm = LocalCrm(ws.engine)
    for record in ws.ledger.list_by_stage(Stage.COMPLETED):
        final = ws.version_path("final", record.id)
        assert final.parent.name == "completed"
        assert verify_pdf(final.read_bytes(), ws.ledger, ws.trust_roots).authentic
        assert crm.get_deal_stage(int(record.deal_id)) == "C1:WON"
    assert crm.get_deal_stage(int(sent[3].deal_id)) == "C1:LOSE"
    for record in ws.ledger.list_by_stage(Stage.SENT):
        assert ws.ledger.derived_stage(record.id) is Stage.SENT
