"""Shared plumbing of the portal's routes: templates, CSRF, client identity and the error pages."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from esign.errors import PortalError
from esign.portal.pages import DocumentPages
from esign.portal.security import Csrf, RateLimiter
from esign.portal.services import PortalServices
from esign.requests import SigningRequest, ThrottledError

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

#: Title of the friendly page per reason (pt-BR).
TITLES: dict[str, str] = {
    "unknown": "Link inválido",
    "expired": "Link expirado",
    "canceled": "Pedido cancelado",
    "signed": "Documento já assinado",
    "declined": "Documento recusado",
    "not_ready": "Documento indisponível",
    "not_verified": "Confirmação necessária",
    "csrf": "Sessão expirada",
    "too_large": "Arquivo grande demais",
    "document_missing": "Documento indisponível",
    "not_found": "Página não encontrada",
    "error": "Algo deu errado",
    "throttled": "Muitas tentativas",
}

STAGE_LABELS = {
    "draft": "Rascunho", "company_signed": "Assinado pela empresa", "sent": "Enviado ao cliente",
    "viewed": "Visualizado pelo cliente", "client_signed": "Assinado pelo cliente", "completed": "Concluído",
    "declined": "Recusado", "expired": "Expirado", "canceled": "Cancelado", "failed": "Falhou",
    "quarantined": "Em quarentena",
}
ACTION_LABELS = {
    **STAGE_LABELS, "created": "Documento criado", "sent": "Link enviado", "viewed": "Documento aberto",
    "code_sent": "Código enviado", "code_verified": "Código confirmado", "code_failed": "Código incorreto",
    "code_send_failed": "Falha ao enviar código", "downloaded": "Documento baixado", "reminder_sent": "Lembrete",
}

log = logging.getLogger("esign.portal")
_TOKEN_IN_PATH = re.compile(r"/s/[^/?\s]+")


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


def format_time(value: datetime | None) -> str:
    return value.strftime("%d/%m/%Y %H:%M:%S UTC") if value else ""


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
        env = self.templates.env
        env.filters["when"] = format_time
        env.filters["sentence"] = sentence
        env.globals.update(stage_label=lambda s: STAGE_LABELS.get(str(s), str(s)),
                           action_label=lambda a: ACTION_LABELS.get(str(a), str(a)))

    def render(self, request: Request, name: str, context: dict[str, Any] | None = None,
               status: int = 200) -> HTMLResponse:
        values = {"company": self.settings.company_name, "csrf_token": self.csrf.token(request), **(context or {})}
        response = self.templates.TemplateResponse(request, name, values, status_code=status)
        self.csrf.attach(request, response)
        return response

    def error_page(self, request: Request, reason: str, message: str, status: int | None = None) -> HTMLResponse:
        code = status or STATUS.get(reason, 400)
        title = TITLES.get(reason, "Não foi possível continuar")
        return self.render(request, "error.html", {"title": title, "message": message, "reason": reason}, code)

    def throttle(self, limiter: RateLimiter, request: Request) -> None:
        """Count this request against the client IP's budget; ThrottledError (429, Retry-After) when spent."""
        wait = limiter.hit(client_ip(request))
        if wait is not None:
            raise ThrottledError(f"muitas tentativas a partir deste endereço; aguarde {wait} segundos",
                                 retry_after=wait)

    def check_csrf(self, request: Request, form: dict[str, str]) -> None:
        if not self.csrf.valid(request, form.get("csrf", "")):
            raise CsrfError("a página expirou por segurança; volte e tente de novo")

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
