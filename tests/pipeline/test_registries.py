"""Adding a channel or a CRM is a module plus one registration: a toy WhatsApp channel (a real local HTTP endpoint)
carries a whole run's invitations and a one-time code, and a toy CRM takes a run, both chosen by name only."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from esign.crm.registry import CrmContext, build_crm, crm_names, register_crm, unregister_crm
from esign.dispatch.labels import channel_label
from esign.dispatch.records import OutboxState
from esign.dispatch.registry import channel_names, preferences, register_channel, unregister_channel
from esign.errors import ConfigError
from esign.i18n import translator
from esign.model import Stage
from esign.pipeline.config import PipelineConfig
from esign.pipeline.messages import OutboxCodeSender
from esign.pipeline.services import Services
from esign.rules.config import parse_rules
from tests.pipeline.conftest import Pipe, run_send
from tests.pipeline.mirror_crm import MirrorCrm
from tests.pipeline.whatsapp_channel import WHATSAPP


class Endpoint:
    """A local HTTP server that accepts every POST and keeps its JSON body."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                data = json.dumps({"id": f"wa-{len(received)}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/messages"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    server = Endpoint()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()
        server.thread.join(5)


@pytest.fixture
def whatsapp() -> Iterator[None]:
    register_channel(WHATSAPP)  # the one line a deployment writes
    try:
        yield
    finally:
        unregister_channel("whatsapp")


@pytest.fixture
def mirror() -> Iterator[None]:
    register_crm("mirror", "tests.pipeline.mirror_crm:connect")  # the one line a deployment writes
    try:
        yield
    finally:
        unregister_crm("mirror")


def test_a_registered_channel_carries_a_run_and_a_code(pipe: Pipe, endpoint: Endpoint, whatsapp: None,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHATSAPP_URL", endpoint.url)  # the toy channel's own variable, not an ESIGN_* one
    services = Services(ws=pipe.ws, config=replace(pipe.services.config, channel="whatsapp"), smtp=pipe.services.smtp)
    run_send(services)
    rows = [e for e in services.outbox.entries() if e.channel == "whatsapp"]
    assert rows and all(e.state is OutboxState.SENT and e.provider_ref for e in rows)
    assert sorted(m["reference"] for m in endpoint.received) == sorted(e.message_id for e in rows)
    for row in rows:
        request = services.requests.get(row.request_id)
        assert request.channel == "whatsapp" and request.destination.startswith("+55")
        assert services.ws.ledger.get(row.document_id).stage is Stage.SENT
    sent = {m["to"]: m["text"] for m in endpoint.received}
    assert all("http://127.0.0.1:9/" in text for text in sent.values()), "the short text with the signing link"
    others = [e for e in services.outbox.entries() if e.channel != "whatsapp"]
    assert all(e.channel == "email" for e in others), "no mobile number: the next registered channel reaches them"

    request = services.requests.get(rows[0].request_id)
    OutboxCodeSender(services).send_code(request, "481516", 1)
    assert endpoint.received[-1]["to"] == request.destination and "481516" in endpoint.received[-1]["text"]


def test_validation_labels_and_rules_read_the_channel_registry(whatsapp: None) -> None:
    assert channel_names()[-1] == "whatsapp" and "whatsapp" in preferences()
    assert PipelineConfig(channel="whatsapp").channel == "whatsapp"
    rules = parse_rules({"rules": [{"name": "r", "trigger": {"type": "deal_enters_stage", "stage": "C1:NEW"},
                                    "actions": [{"type": "send_document", "template": "t", "channel": "whatsapp"}]}]})
    assert rules[0].actions[0].params["channel"] == "whatsapp"
    assert channel_label("whatsapp", translator("pt_BR")) == "WhatsApp"


def test_an_unregistered_channel_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="pipeline channel: must be one of auto, email, sms, got 'whatsapp'"):
        PipelineConfig(channel="whatsapp")
    with pytest.raises(ConfigError, match="channel: must be one of"):
        parse_rules({"rules": [{"name": "r", "trigger": {"type": "deal_enters_stage", "stage": "C1:NEW"},
                                "actions": [{"type": "send_document", "template": "t", "channel": "whatsapp"}]}]})
    with pytest.raises(ConfigError, match="plain word"):
        register_channel(replace(WHATSAPP, name="auto"))


def test_a_registered_crm_takes_a_run(pipe: Pipe, mirror: None) -> None:
    assert "mirror" in crm_names()
    services = Services(ws=pipe.ws, config=replace(pipe.services.config, crm="mirror"), smtp=pipe.services.smtp)
    assert isinstance(services.crm, MirrorCrm)
    run_send(services)
    documents = services.ws.ledger.list_by_stage(Stage.SENT)
    assert documents and {d.crm for d in documents} == {"mirror"}


def test_an_unknown_or_broken_crm_is_a_configuration_error(pipe: Pipe) -> None:
    with pytest.raises(ConfigError, match="pipeline crm: must be one of local, bitrix24, got 'mirror'"):
        PipelineConfig(crm="mirror")
    context = CrmContext(engine=pipe.ws.engine, settings=pipe.services.settings, state_dir=pipe.workdir / "run")
    with pytest.raises(ConfigError, match="has no connector"):
        build_crm("mirror", context)
    register_crm("broken", "tests.pipeline.no_such_module:connect")
    try:
        with pytest.raises(ConfigError, match="CRM 'broken': cannot load"):
            build_crm("broken", context)
    finally:
        unregister_crm("broken")
