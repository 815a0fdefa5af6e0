"""Staff sessions: a signed cookie ``login|expiry|hmac`` (no server state), or a bearer API token."""

from __future__ import annotations

import hashlib
import hmac
import time

from starlette.requests import Request

from esign.access import AccessStore, Principal, UnknownUserError

SESSION_COOKIE = "esign_staff"
SESSION_SECONDS = 8 * 3600


class Sessions:
    def __init__(self, key: bytes, store: AccessStore) -> None:
        self._key = key
        self.store = store

    def _mac(self, payload: str) -> str:
        return hmac.new(self._key, f"staff:{payload}".encode(), hashlib.sha256).hexdigest()

    def issue(self, login: str, now: float | None = None) -> str:
        payload = f"{login}|{int((now or time.time()) + SESSION_SECONDS)}"
        return f"{payload}|{self._mac(payload)}"

    def principal(self, request: Request, now: float | None = None) -> Principal | None:
        """The person behind the request's bearer token or session cookie; None when neither is valid."""
        auth = request.headers.get("authorization", "")
        try:
            if auth.lower().startswith("bearer "):
                return self.store.authenticate_token(auth[7:].strip())
            login, expiry, mac = request.cookies.get(SESSION_COOKIE, "").rsplit("|", 2)
        except (ValueError, UnknownUserError):
            return None
        if not hmac.compare_digest(mac, self._mac(f"{login}|{expiry}")):
            return None
        if not expiry.isdigit() or int(expiry) < (now or time.time()):
            return None
        try:
            return self.store.principal(login)
        except UnknownUserError:
            return None
