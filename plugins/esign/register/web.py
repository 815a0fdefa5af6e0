"""Shared plumbing of the register's routes: templates in the staff's language, sessions, CSRF, forms, notices.

The staff read the company's language (``company.yaml``); every page is rendered with that translator, and
every time is shown in the company's time zone with the zone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import Response

from esign.access import AccessDeniedError, AccessStore, Principal
from esign.dispatch.labels import channel_label
from esign.errors import EsignError
from esign.i18n import Translator
from esign.i18n.jinja import install
from esign.model.labels import actor_label, event_label, stage_label
from esign.pipeline.services import Services
from esign.portal.security import Csrf
from esign.reasons import describe_detail, describe_reason
from esign.register.actions import DocumentActions
from esign.register.errors import FORM_EXPIRED, FORM_TOO_LARGE
from esign.register.labels import CHANNELS, LINK_STATES, MESSAGE_KINDS, MESSAGE_STATES, coded
from esign.register.session import Sessions
from esign.requests.signer_states import role_label, state_label

HERE = Path(__file__).parent
PREFIX = "/staff"
MAX_FORM_BYTES = 256 * 1024
NOTICE_COOKIE = "esign_staff_notice"


class NotLoggedInError(EsignError):
    pass


class FormTooLargeError(EsignError):
    pass


class FormExpiredError(AccessDeniedError):
    pass


class Register:
    """What every route handler uses; one per app."""

    def __init__(self, services: Services, secure_cookies: bool) -> None:
        self.services = services
        self.actions = DocumentActions(services)
        self.store: AccessStore = self.actions.store
        self.sessions = Sessions(services.requests.derive_key("staff-session"), self.store)
        self.csrf = Csrf(services.requests.derive_key("staff-csrf"), secure_cookies)
        self._notice_key = services.requests.derive_key("staff-notice")
        self.secure_cookies = secure_cookies
        self.t: Translator = services.ws.company.translator()
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        env = install(self.templates.env)
        t = self.t
        env.filters["when"] = lambda value: t.format_datetime(value) if value else ""
        env.filters["day"] = lambda value: t.format_date(value) if value else ""
        env.globals.update(
            stage_label=lambda s: stage_label(s, t), event_label=lambda a: event_label(a, t),
            actor_label=lambda a: actor_label(a, t),
            channel_label=lambda c: coded(t, CHANNELS, c) if c in CHANNELS else channel_label(c or "", t),
            message_kind=lambda k: coded(t, MESSAGE_KINDS, k), message_state=lambda s: coded(t, MESSAGE_STATES, s),
            link_state=lambda s: coded(t, LINK_STATES, s), prefix=PREFIX,
            signer_state=lambda s: state_label(s, t), signer_role=lambda r: role_label(r, t),
            reason_text=lambda r: describe_reason(r, t) if r else "",
            detail_text=lambda d: describe_detail(d, t) if d else "")

    def render(self, request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        values = {"csrf_token": self.csrf.token(request), "company": self.services.ws.company.party.name,
                  **self.t.jinja_context(), **context}
        response = self.templates.TemplateResponse(request, name, values, status_code=status)
        response.headers["Cache-Control"] = "no-store"
        return self.csrf.attach(request, response)

    def message(self, request: Request, title: str, text: str, status: int, back: str = "") -> Response:
        user = self.sessions.principal(request)
        return self.render(request, "message.html", {"title": title, "message": text, "user": user,
                                                     "back": back or f"{PREFIX}/"}, status)

    def who(self, request: Request) -> Principal:
        principal = self.sessions.principal(request)
        if principal is None:
            raise NotLoggedInError("log in first")
        return principal

    async def form(self, request: Request) -> dict[str, Any]:
        """The POSTed form, after its size and CSRF checks; ``doc`` (the selection) as a list."""
        declared = request.headers.get("content-length", "")
        if not declared.isdigit() or int(declared) > MAX_FORM_BYTES:  # browsers always send the length
            raise FormTooLargeError(FORM_TOO_LARGE)
        data = await request.form()
        if not self.csrf.valid(request, str(data.get("csrf", ""))):
            raise FormExpiredError(FORM_EXPIRED)
        return {k: data.getlist(k) if k == "doc" else str(v) for k, v in data.items()}

    # -- the confirmation shown once after an action (post / redirect / get) ---------------------------------
    def _mac(self, payload: bytes) -> str:
        return hmac.new(self._notice_key, payload, hashlib.sha256).hexdigest()

    def notify(self, response: Response, text: str, kind: str = "ok") -> Response:
        payload = base64.urlsafe_b64encode(f"{kind}|{text[:1500]}".encode())
        response.set_cookie(NOTICE_COOKIE, f"{payload.decode()}.{self._mac(payload)}", max_age=120, httponly=True,
                            samesite="strict", secure=self.secure_cookies, path=PREFIX)
        return response

    def take_notice(self, request: Request) -> tuple[str, str] | None:
        """The pending confirmation (kind, text) set by :meth:`notify`, if genuine; the caller clears it."""
        value = request.cookies.get(NOTICE_COOKIE, "")
        payload, _, mac = value.partition(".")
        if not payload or not hmac.compare_digest(mac.encode(), self._mac(payload.encode()).encode()):
            return None
        try:
            kind, _, text = base64.urlsafe_b64decode(payload).decode().partition("|")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return kind, text

    @staticmethod
    def clear_notice(response: Response) -> None:
        response.delete_cookie(NOTICE_COOKIE, path=PREFIX)

    def now(self) -> datetime:
        return self.services.ws.ledger.now()
