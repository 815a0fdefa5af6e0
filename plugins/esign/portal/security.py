"""Browser-facing protections: strict headers on every response and CSRF tokens bound to a cookie.

CSRF: the cookie holds a random value; the hidden field holds HMAC(key, value). A cross-site page can
neither read the HttpOnly, SameSite=Strict cookie nor compute the HMAC without the server's key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


def header_items() -> list[tuple[str, str]]:
    """The headers as text, for responses built outside the middleware (the 500 page)."""
    return [(k.decode(), v.decode()) for k, v in _HEADERS.items()]


class SecurityHeaders:
    """ASGI middleware adding the headers above, and ``Cache-Control: no-store`` on link (token) URLs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = str(scope.get("path", "")).startswith(("/s/", "/verify"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers += [(k, v) for k, v in _HEADERS.items() if k not in present]
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
