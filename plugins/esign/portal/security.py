"""Browser-facing protections: strict headers on every response, CSRF tokens bound to a cookie, rate limits,
and which proxies may say who the client is.

CSRF: the cookie holds a random value; the hidden field holds HMAC(key, value). A cross-site page can
neither read the HttpOnly, SameSite=Strict cookie nor compute the HMAC without the server's key.

Proxies: behind a TLS proxy every request comes from the proxy's address, so per-client limits would count
all clients as one; yet anyone can send an ``X-Forwarded-For`` header. ``ESIGN_TRUSTED_PROXIES`` lists the
addresses or networks of the proxies in front of the server; ``X-Forwarded-For``/``X-Forwarded-Proto`` are
honoured only on connections from them (the client is the nearest address in the chain that is not a trusted
proxy), and ignored from anyone else. The servers run with uvicorn's own proxy handling off
(:data:`SERVER_OPTIONS`), which would otherwise trust any loopback client.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from esign.errors import ConfigError
from esign.settings import EsignSettings

CSRF_COOKIE = "esign_csrf"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; connect-src 'self'")
_HEADERS = {
    b"content-security-policy": CSP.encode(),
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"no-referrer",
    b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
    b"cross-origin-opener-policy": b"same-origin",
}
#: Sent only when the public URL is https (a browser would otherwise pin plain-http test servers to https).
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


def header_items(hsts: bool = False) -> list[tuple[str, str]]:
    """The headers as text, for responses built outside the middleware (the 500 page)."""
    items = [*_HEADERS.items(), HSTS] if hsts else list(_HEADERS.items())
    return [(k.decode(), v.decode()) for k, v in items]


class SecurityHeaders:
    """ASGI middleware adding the headers above, and ``Cache-Control: no-store`` on link (token) URLs."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self._headers = {**_HEADERS, HSTS[0]: HSTS[1]} if hsts else dict(_HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = str(scope.get("path", "")).startswith(("/s/", "/verify"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers += [(k, v) for k, v in self._headers.items() if k not in present]
                if private and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Csrf:
    """Issues and checks CSRF tokens with a key derived from the link secret (same key in every worker)."""

    def __init__(self, key: bytes, secure: bool) -> None:
        self._key = key
        self._secure = secure

    def cookie_value(self, request: Request) -> str:
        """The browser's CSRF cookie, or a new value (set on the response by :meth:`attach`)."""
        value = request.cookies.get(CSRF_COOKIE, "")
        if len(value) < 32 or len(value) > 100:
            value = request.state.__dict__.setdefault("csrf_new", secrets.token_urlsafe(32))
        return value

    def token(self, request: Request) -> str:
        return hmac.new(self._key, f"csrf:{self.cookie_value(request)}".encode(), hashlib.sha256).hexdigest()

    def attach(self, request: Request, response: Response) -> Response:
        """Set the cookie when this request created one."""
        new = request.state.__dict__.get("csrf_new")
        if new:
            response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="strict", secure=self._secure, path="/")
        return response

    def valid(self, request: Request, submitted: str) -> bool:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not cookie or not submitted:
            return False
        expected = hmac.new(self._key, f"csrf:{cookie}".encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), submitted.encode())


class RateLimiter:
    """In-memory sliding-window limit per key (a client IP): at most ``limit`` hits per ``window`` seconds.

    Per process: with N workers a client gets at most N times the limit, which still stops brute force and
    floods. The number of keys tracked is bounded, so a spray of addresses cannot exhaust memory.
    """

    def __init__(self, limit: int, window: float = 60.0, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._max_keys = max_keys
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> int | None:
        """Count one hit; None when allowed, else the seconds to wait (for ``Retry-After``)."""
        now = self._clock()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= self._max_keys:
                    self._prune(now)
                hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(1, int(self.window - (now - hits[0]) + 0.999))
            hits.append(now)
            return None

    def _prune(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or now - v[-1] >= self.window]:
            del self._hits[key]
        while len(self._hits) >= self._max_keys:  # all recent: forget the oldest key
            del self._hits[next(iter(self._hits))]


# -- trusted proxies ------------------------------------------------------------------------------------------
TRUSTED_PROXIES_VAR = "ESIGN_TRUSTED_PROXIES"
#: uvicorn settings of every server of the portal and the register: forwarded headers are the app's business.
SERVER_OPTIONS: dict[str, Any] = {"proxy_headers": False, "server_header": False}


def trusted_proxies(settings: EsignSettings) -> tuple[str, ...]:
    """``ESIGN_TRUSTED_PROXIES`` of the typed settings: IP addresses or networks (``10.0.0.5, 172.18.0.0/16``),
    comma-separated.

    Empty (the default) trusts no proxy. A value that is not an address or a network, or ``*``, is a
    configuration error naming it: trusting everyone would let any client choose its own address.
    """
    found: list[str] = []
    for item in settings.trusted_proxies.split(","):
        entry = item.strip()
        if not entry:
            continue
        try:
            found.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            raise ConfigError(f"{TRUSTED_PROXIES_VAR}: {entry!r} is not an IP address or network "
                              "(e.g. 10.0.0.5 or 172.18.0.0/16)") from None
    return tuple(found)


def honour_trusted_proxies(app: Any, proxies: tuple[str, ...]) -> None:
    """Let ``app`` (a Starlette/FastAPI app) read the client's address and scheme from ``proxies``' headers.

    Added last, so it runs first: every limit, log and event below it sees the real client.
    """
    if proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(proxies))
