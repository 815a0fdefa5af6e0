"""The embedded default's mail server: a local SMTP server (aiosmtpd) that files each message as a .eml file.

The demo and the tests send real SMTP to it and read the files back to find a signing link or a code.
Each message is written atomically with the exact bytes received, named so that names sort by arrival.
"""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from esign.store.files import write_atomic

_LINK = re.compile(r"https?://[^\s<>\"']+")


class MaildirHandler:
    """aiosmtpd handler that writes every accepted message to ``maildir``. Subclass to script refusals."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = Path(maildir)
        self.received = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        with self._lock:
            self.received += 1
            number = self.received
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        write_atomic(self.maildir / f"{stamp}-{number:06d}.eml", bytes(raw))
        return "250 2.0.0 Ok: stored"


class _CountingSMTP(SMTP):
    """Counts sessions that greeted (EHLO/HELO), so tests can see how many connections a batch used."""

    def __init__(self, owner: LocalMailServer, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._owner = owner

    async def smtp_EHLO(self, hostname: str) -> None:  # noqa: N802
        self._owner._count_session()
        await super().smtp_EHLO(hostname)

    async def smtp_HELO(self, hostname: str) -> None:  # noqa: N802
        self._owner._count_session()
        await super().smtp_HELO(hostname)


class _Controller(Controller):
    """aiosmtpd's threaded controller with port 0 support and the counting server class."""

    def __init__(self, owner: LocalMailServer, handler: Any, hostname: str, port: int) -> None:
        super().__init__(handler, hostname=hostname, port=port)
        self._owner = owner

    def factory(self) -> SMTP:
        return _CountingSMTP(self._owner, self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        if self.server is not None and self.port == 0:  # learn the port the OS picked before probing it
            self.port = cast(asyncio.Server, self.server).sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class LocalMailServer:
    """A local SMTP server on ``host:port`` (port 0: any free port, see ``port`` after start).

    A context manager; ``stop()`` then ``start()`` again reuses the same port, so tests can take it down
    and bring it back. ``sessions`` counts SMTP sessions since the last start.
    """

    def __init__(
        self, maildir: Path, host: str = "127.0.0.1", port: int = 0, handler: MaildirHandler | None = None
    ) -> None:
        self.maildir = Path(maildir)
        self.host = host
        self.port = port
        self.handler = handler or MaildirHandler(self.maildir)
        self.sessions = 0
        self._lock = threading.Lock()
        self._controller: _Controller | None = None

    def start(self) -> None:
        if self._controller is not None:
            return
        self.maildir.mkdir(parents=True, exist_ok=True)
        controller = _Controller(self, self.handler, self.host, self.port)
        controller.start()
        self.port = controller.port
        self._controller = controller
        with self._lock:
            self.sessions = 0  # the controller's own readiness probe never greets

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    @property
    def running(self) -> bool:
        return self._controller is not None

    def _count_session(self) -> None:
        with self._lock:
            self.sessions += 1

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """One filed message: its path, the exact bytes, and the parsed message."""

    path: Path
    raw: bytes
    message: EmailMessage

    def _part(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        return "" if part is None else cast(EmailMessage, part).get_content()

    @property
    def text(self) -> str:
        return self._part("plain")

    @property
    def html(self) -> str:
        return self._part("html")

    @property
    def links(self) -> list[str]:
        """Links in the plain-text part, in order (the HTML part has the same ones, escaped)."""
        return _LINK.findall(self.text)

    def header(self, name: str) -> str:
        return str(self.message.get(name, ""))


def read_messages(maildir: Path) -> list[ReceivedMessage]:
    """Every ``.eml`` in ``maildir``, oldest first (an empty list if the folder does not exist yet)."""
    folder = Path(maildir)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.eml")):
        raw = path.read_bytes()
        message = message_from_bytes(raw, policy=SMTP_POLICY)
        found.append(ReceivedMessage(path=path, raw=raw, message=message))
    return found
