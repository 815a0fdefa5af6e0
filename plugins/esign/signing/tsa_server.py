"""The demo time-stamping authority served over HTTP (RFC 3161 §3.4), for the demo, staging and the tests.

``POST`` a DER ``TimeStampReq`` with ``Content-Type: application/timestamp-query``; the answer is always a DER
``TimeStampResp`` (``application/timestamp-reply``): a token, or a rejection saying why. Anything that is not
such a request gets a plain HTTP error (405, 411, 413, 415). Runs in a background thread of the caller.
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from esign.signing.tsa import MAX_REQUEST_BYTES, TimeStampAuthority

log = logging.getLogger(__name__)
QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive: a worker's seals share one connection
    disable_nagle_algorithm = True  # headers and body are two writes: without this, each reply waits ~40 ms

    def do_POST(self) -> None:
        if self.headers.get("Content-Type", "").split(";")[0].strip().lower() != QUERY_TYPE:
            self._plain(415, f"expected {QUERY_TYPE}")
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._plain(411, "Content-Length required")
            return
        if int(length) > MAX_REQUEST_BYTES:
            self._plain(413, "request too large")
            return
        reply = self.server.authority.respond(self.rfile.read(int(length)))
        self.send_response(200)
        self.send_header("Content-Type", REPLY_TYPE)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def do_GET(self) -> None:
        self._plain(405, "POST a time-stamp request")

    def _plain(self, status: int, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("tsa %s: " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], authority: TimeStampAuthority) -> None:
        super().__init__(address, _Handler)
        self.authority = authority


class TsaServer:
    """The authority on ``host:port`` (port 0: any free port); ``url`` is what ``ESIGN_TSA_URL`` takes."""

    def __init__(self, authority: TimeStampAuthority, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port), authority)
        self._thread = threading.Thread(target=self._server.serve_forever, name="esign-tsa", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def start(self) -> TsaServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> TsaServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
