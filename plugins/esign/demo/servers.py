"""The demo's local servers: the SMTP server that files mail as .eml, and the portal under uvicorn."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from esign.errors import EsignError
from esign.portal.security import SERVER_OPTIONS


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether ``port`` can be listened on now (a server already there would take the demo's links)."""
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class PortalServer:
    """uvicorn in a background thread, stopped on exit; started only once its socket listens."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port or free_port(host)
        config = uvicorn.Config(app, host=self.host, port=self.port, log_level="warning", access_log=False,
                                **SERVER_OPTIONS)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="portal", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise EsignError(f"the portal did not start on {self.url}")
            time.sleep(0.05)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> PortalServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
