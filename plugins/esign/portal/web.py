"""Shared plumbing of the portal's routes: templates, CSRF, client identity and the error pages."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from esign.errors import PortalError
from esign.i18n import N_, Translator, translator
from esign.i18n.jinja import install
from esign.model.labels import event_label, stage_label
from esign.portal.pages import DocumentPages
from esign.portal.security import Csrf, RateLimiter
from esign.portal.services import PortalServices
from esign.requests import SigningRequest, ThrottledError
from esign.requests.signer_states import role_label, state_label

HERE = Path(__file__).parent
VERIFIED_COOKIE = "esign_verified"

#: HTTP status per error reason; anything not here is a 400.
STATUS: dict[str, int] = {
    "unknown": 404, "document_missing": 404, "not_found": 404,
    "expired": 410, "canceled": 410,
    "signed": 409, "declined": 409, "not_ready": 409,
    "csrf": 403, "not_verified": 403,
    "too_large": 413, "throttled": 429, "send_failed": 503, "error": 500,
}

#: Title of the friendly page per reason (translated where shown).
TITLES: dict[str, str] = {
    "unknown": N_("Invalid link"),
    "expired": N_("Link expired"),
    "canceled": N_("Request canceled"),
    "signed": N_("Document already signed"),
    "declined": N_("Document declined"),
    "not_ready": N_("Document unavailable"),
    "not_verified": N_("Confirmation needed"),
    "csrf": N_("Session expired"),
    "too_large": N_("File too large"),
    "document_missing": N_("Document unavailable"),
    "not_found": N_("Page not found"),
    "error": N_("Something went wrong"),
    "throttled": N_("Too many attempts"),
    "bad_upload": N_("File not accepted"),
}
#: What the page says per reason; the domain's own message is shown only where none is here (it is a detail).
MESSAGES: dict[str, str] = {
    "unknown": N_("This link does not exist."),
    "expired": N_("This link has expired."),
    "canceled": N_("This signature request was canceled."),
    "signed": N_("This document has already been signed."),
    "declined": N_("This document was declined."),
    "not_ready": N_("This document is not available for signing yet."),
    "not_verified": N_("Confirm the verification code before continuing."),
    "csrf": N_("The page expired for your security; go back and try again."),
    "document_missing": N_("The document file is not available."),
    "not_found": N_("The page you are looking for does not exist."),
    "error": N_("Try again in a few minutes."),
    "send_failed": N_("The code could not be sent right now; try again in a moment."),
}
TITLE_FALLBACK = N_("Could not continue")

log = logging.getLogger("esign.portal")
_TOKEN_IN_PATH = re.compile(r"/s/[^/?\s]+")


@jinja2.pass_context
def _stage_label(context: jinja2.runtime.Context, stage: str) -> str:
    return stage_label(stage, context.get("i18n") or translator())


@jinja2.pass_context
def _action_label(context: jinja2.runtime.Context, action: str) -> str:
    return event_label(str(action), context.get("i18n") or translator())


@jinja2.pass_context
def _signer_state_label(context: jinja2.runtime.Context, state: str) -> str:
    return state_label(str(state), context.get("i18n") or translator())


@jinja2.pass_context
def _signer_role_label(context: jinja2.runtime.Context, role: str) -> str:
    return role_label(str(role), context.get("i18n") or translator())


class CsrfError(PortalError):
    reason = "csrf"


class RedactTokens(logging.Filter):
    """Keeps link tokens out of access logs: ``/s/<token>/...`` is logged as ``/s/…/...``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_IN_PATH.sub("/s/…", a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_PATH.sub("/s/…", record.msg)
        return True


@jinja2.pass_context
def format_time(context: jinja2.runtime.Context, value: datetime | None) -> str:
    """A time in the reader's zone, with the zone shown (``18/12/2026 15:11 (UTC-03:00)``)."""
    if value is None:
        return ""
    t: Translator = context.get("i18n") or translator()
    return t.format_datetime(value)


def sentence(message: str) -> str:
    """Domain messages are lower-case clauses; pages show them as sentences."""
    text = message.strip()
    if not text:
        return ""
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def user_agent(request: Request) -> str:
    return request.headers.get("user-agent", "")[:1000]


class Portal:
    """What every route handler uses; one per app."""

    def __init__(self, services: PortalServices) -> None:
        self.services = services
        self.settings = services.settings
        self.requests = services.requests
        self.ledger = services.ledger
        self.csrf = Csrf(services.requests.derive_key("portal-csrf"), services.settings.secure_cookies)
        self._verified_key = services.requests.derive_key("portal-verified")
        self.upload_limit = RateLimiter(services.settings.uploads_per_minute)
        self.code_limit = RateLimiter(services.settings.code_posts_per_minute)
        self.pages = DocumentPages(services.ledger, services.settings.documents_dir, services.settings.cache_dir)
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        env = install(self.templates.env)
        env.filters["when"] = format_time
        env.filters["sentence"] = sentence
        env.filters["tel"] = lambda number: re.sub(r"[^0-9+]", "", str(number))  # a tel: link's digits
        env.globals.update(stage_label=_stage_label, action_label=_action_label,
                           signer_state_label=_signer_state_label, signer_role_label=_signer_role_label)

    def translator(self, request: Request, language: str = "") -> Translator:
        """The reader's language: ``?lang=`` when given (en, es), else ``language`` (the client's, when the deal
        gave one), else the company's; times always in the company's zone."""
        chosen = request.query_params.get("lang") or language or self.settings.language
        return translator(chosen, self.settings.timezone)

    def render(self, request: Request, name: str, context: dict[str, Any] | None = None,
               status: int = 200) -> HTMLResponse:
        values = context or {}
        language = getattr(values.get("signer"), "language", "") or getattr(values.get("document"), "language", "")
        t = self.translator(request, str(language or ""))  # the signer's language, else the deal's
        values = {**t.jinja_context(), "company": self.settings.company_name, "csrf_token": self.csrf.token(request),
                  "company_contact": self.company_contact(), **(context or {})}
        response = self.templates.TemplateResponse(request, name, values, status_code=status)
        self.csrf.attach(request, response)
        return response

    def company_contact(self) -> list[str]:
        """How a client reaches the company (its e-mail and phone, when the company profile gives them)."""
        return [way for way in (self.settings.company_email, self.settings.company_phone) if way]

    def error_page(self, request: Request, reason: str, message: str = "", status: int | None = None) -> HTMLResponse:
        """The friendly page of ``reason``: its translated title and text (``message``, already in the reader's
        language, only where the reason has no text of its own)."""
        t = self.translator(request)
        code = status or STATUS.get(reason, 400)
        title = t.gettext(TITLES.get(reason, TITLE_FALLBACK))
        text = message or (t.gettext(MESSAGES[reason]) if reason in MESSAGES else "")
        return self.render(request, "error.html", {"title": title, "message": text, "reason": reason}, code)

    def throttle(self, limiter: RateLimiter, request: Request) -> None:
        """Count this request against the client IP's budget; ThrottledError (429, Retry-After) when spent."""
        wait = limiter.hit(client_ip(request))
        if wait is not None:
            raise ThrottledError(f"too many attempts from this address; wait {wait} seconds", retry_after=wait)

    def check_csrf(self, request: Request, form: dict[str, str]) -> None:
        if not self.csrf.valid(request, form.get("csrf", "")):
            raise CsrfError("the page expired (CSRF token missing or stale)")

    # -- binding a confirmed code to the browser that confirmed it -------------------------------------
    def _proof(self, signing_request: SigningRequest) -> str:
        current = self.requests.get(signing_request.id)
        stamp = current.verified_at.isoformat() if current.verified_at else ""
        return hmac.new(self._verified_key, f"{current.id}|{stamp}".encode(), hashlib.sha256).hexdigest()

    def remember_verified(self, response: Response, signing_request: SigningRequest, token: str) -> None:
        response.set_cookie(VERIFIED_COOKIE, self._proof(signing_request), httponly=True, samesite="strict",
                            secure=self.settings.secure_cookies, path=f"/s/{token}", max_age=15 * 60)

    def verified_here(self, request: Request, signing_request: SigningRequest) -> bool:
        """The code was confirmed in this browser (the server-side 15-minute window is checked by the service)."""
        cookie = request.cookies.get(VERIFIED_COOKIE, "")
        return bool(cookie) and hmac.compare_digest(cookie.encode(), self._proof(signing_request).encode())
