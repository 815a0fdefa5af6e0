"""Staff sessions: a signed cookie ``login|epoch|expiry|hmac``, or a bearer API token.

The epoch is the user's session generation in the ledger; logout bumps it, so a copied cookie dies with the
session instead of living until it expires.
"""

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
        payload = f"{login}|{self.store.session_epoch(login)}|{int((now or time.time()) + SESSION_SECONDS)}"
        return f"{payload}|{self._mac(payload)}"

    def end(self, request: Request) -> None:
        """Logout: the cookie's user gets a new session epoch (only when the cookie is genuine)."""
        principal = self.principal(request)
        if principal is not None and not request.headers.get("authorization"):
            self.store.end_sessions(principal.login)

    def principal(self, request: Request, now: float | None = None) -> Principal | None:
        """The person behind the request's bearer token or session cookie; None when neither is valid."""
        auth = request.headers.get("authorization", "")
        try:
            if auth.lower().startswith("bearer "):
                return self.store.authenticate_token(auth[7:].strip())
            login, epoch, expiry, mac = request.cookies.get(SESSION_COOKIE, "").rsplit("|", 3)
        except (ValueError, UnknownUserError):
            return None
        if not hmac.compare_digest(mac, self._mac(f"{login}|{epoch}|{expiry}")):
            return None
        if not expiry.isdigit() or int(expiry) < (now or time.time()):
            return None
        try:
            if epoch != str(self.store.session_epoch(login)):
                return None  # logged out since this cookie was issued
            return self.store.principal(login)
        except UnknownUserError:
            return None
