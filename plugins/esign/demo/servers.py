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
    """uvicorn in a background thread, stopped on exit; started only once its socket listens.

    The socket is bound when the server is made (port 0: one the system picks, with no window for another process
    to take it), so the URL is known before the app is: ``app`` may be set after construction, before ``start``.
    Tests serve their apps through it too, with the options ``esign portal`` uses.
    """

    def __init__(self, app: Any = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds its own
        self._socket.bind((host, port))
        self.host, self.port = host, int(self._socket.getsockname()[1])
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, **SERVER_OPTIONS)
        server = self._server = uvicorn.Server(config)
        thread = self._thread = threading.Thread(target=server.run, kwargs={"sockets": [self._socket]},
                                                 name="portal", daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise EsignError(f"the portal did not start on {self.url}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> PortalServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
