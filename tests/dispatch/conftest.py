"""Fixtures of the dispatch tests: a real local SMTP server, a real local HTTP SMS provider, an outbox."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from esign.dispatch.email import EmailTemplates, SmtpSettings, build_invite
from esign.dispatch.mailserver import LocalMailServer
from esign.dispatch.outbox import Outbox
from esign.dispatch.records import OutgoingMessage, message_id_for

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "email"
FROM = "Açúcar Contratos <no-reply@esign.local>"
EXPIRES = datetime(2031, 3, 15, 21, 0, tzinfo=UTC)


@pytest.fixture
def free_port() -> Callable[[], int]:
    """A port nobody listens on right now (for 'server down' and for bringing a server up later)."""

    def pick() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    return pick


class Clock:
    """A settable clock for the outbox, so 'stale' needs no sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def templates() -> EmailTemplates:
    return EmailTemplates(TEMPLATES)


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
def mail_server(maildir: Path) -> Iterator[LocalMailServer]:
    with LocalMailServer(maildir) as server:
        yield server


@pytest.fixture
def smtp_settings(mail_server: LocalMailServer) -> SmtpSettings:
    return SmtpSettings(port=mail_server.port, timeout=5, from_addr=FROM)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outbox(engine: Engine, clock: Clock) -> Outbox:
    return Outbox(engine, max_attempts=3, clock=clock)


@pytest.fixture
def make_invite(templates: EmailTemplates) -> Callable[..., OutgoingMessage]:
    """An invitation for signing request ``request_id`` to ``to``, ready to enqueue."""

    def make(
        request_id: str, to: str = "joao@example.com", title: str = "Contrato de prestação de serviços"
    ) -> OutgoingMessage:
        key = f"invite:{request_id}"
        message_id = message_id_for(key)
        payload = build_invite(
            templates, from_addr=FROM, to=to, message_id=message_id, company_name="Açúcar & Companhia Ltda.",
            document_title=title, signer_name="João Conceição", link=f"https://sign.example.com/s/{request_id}?t=a&b=1",
            expires_at=EXPIRES, document_id=f"DOC-{request_id}",
        )  # fmt: skip
        return OutgoingMessage(
            dedupe_key=key, document_id=f"DOC-{request_id}", request_id=request_id, kind="invite",
            channel="email", destination=to, message_id=message_id, payload=payload,
        )  # fmt: skip

    return make


# -- a real HTTP SMS provider ------------------------------------------------------------------------------
@dataclass
class SmsApi:
    """A local HTTP server answering scripted responses; records what it received."""

    url: str
    script: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    hang: threading.Event | None = None  # when set on a request, the answer waits until released
    release: threading.Event = field(default_factory=threading.Event)
    received: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def sms_api() -> Iterator[SmsApi]:
    api = SmsApi(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            api.requests.append({"path": self.path, "headers": dict(self.headers), "json": body})
            api.received.set()
            if api.hang is not None:
                api.release.wait(10)
            status, payload = api.script.pop(0) if api.script else (200, {"id": f"prov-{len(api.requests)}"})
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    api.url = f"http://127.0.0.1:{server.server_address[1]}/v1/sms"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        api.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
