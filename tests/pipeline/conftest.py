"""A whole embedded pipeline per test: ledger, seeded local CRM, local SMTP server, keys, services."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from esign.config import Settings
from esign.crm.seed import SeedSummary, seed_demo
from esign.dispatch.email import SmtpSettings
from esign.dispatch.mailserver import LocalMailServer, ReceivedMessage, read_messages
from esign.pipeline.config import PipelineConfig
from esign.pipeline.services import Services
from esign.workspace import Workspace
from tests.support import PROJECT_DIR, TEST_PASSPHRASE, CodeRecorder, send_after_plan

LINK_SECRET = "pipeline-tests-link-secret-0123456789abcdef"


@dataclass
class Pipe:
    services: Services
    mail: LocalMailServer
    seeded: SeedSummary
    workdir: Path

    @property
    def ws(self) -> Workspace:
        return self.services.ws

    def messages(self) -> list[ReceivedMessage]:
        return read_messages(self.workdir / "mail")

    def with_config(self, **changes: object) -> Services:
        from dataclasses import replace

        self.services = Services(ws=self.ws, config=replace(self.services.config, **changes),  # type: ignore[arg-type]
                                 smtp=self.services.smtp)
        return self.services


def make_pipe(tmp_path: Path, core_settings: Settings, deals: int, mail: LocalMailServer,
              signers_every: int = 0) -> Pipe:
    """``signers_every``: every n-th healthy seeded deal has several signers (0: none, the one-signer shape)."""
    settings = Settings.from_env({"ESIGN_HOME": str(tmp_path), "ESIGN_PUBLIC_URL": "http://127.0.0.1:9",
                                  "ESIGN_LINK_SECRET": LINK_SECRET}, project_dir=PROJECT_DIR)
    shutil.copytree(core_settings.keys_dir, settings.keys_dir)
    ws = Workspace(settings, passphrase=TEST_PASSPHRASE)
    seeded = seed_demo(ws.engine, deals, rng_seed=11, signers_every=signers_every)
    services = Services(ws=ws, config=PipelineConfig(auto_approve=True, batch_size=5),
                        smtp=SmtpSettings(host="127.0.0.1", port=mail.port))
    return Pipe(services=services, mail=mail, seeded=seeded, workdir=tmp_path)


@pytest.fixture
def pipe(tmp_path: Path, core_settings: Settings) -> Iterator[Pipe]:
    with LocalMailServer(tmp_path / "mail") as mail:
        yield make_pipe(tmp_path, core_settings, 12, mail)


def run_send(services: Services, run_id: str = "run-1") -> list[dict[str, object]]:
    """Every step of esign_send, in DAG order, without Airflow."""
    from esign.pipeline import send

    batches = send.plan_batches(services, run_id)
    send_after_plan(services, run_id, batches, "tester")
    return batches


def _confirmed_request(services: Services, document_id: str):  # type: ignore[no-untyped-def]
    """The document's signing request after the client asked for a code and typed it."""
    requests = services.requests
    request = requests.for_document(document_id)
    assert request is not None
    recorder = CodeRecorder()
    requests.issue_code(request, recorder, "198.51.100.4", "pytest")
    requests.check_code(request, recorder.last_code, "198.51.100.4", "pytest")
    return request


def client_signs(services: Services, document_id: str, name: str = "Cliente Teste") -> None:
    request = _confirmed_request(services, document_id)
    services.requests.sign(request, name, None, True, "198.51.100.4", "pytest")


def client_declines(services: Services, document_id: str, reason: str = "Preço errado") -> None:
    request = _confirmed_request(services, document_id)
    services.requests.decline(request, reason, "198.51.100.4", "pytest")
