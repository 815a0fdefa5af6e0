"""``create_app``: the clients' signing portal as one FastAPI app, built from :class:`PortalServices`.

Server-rendered pages only (Jinja2), one static script, a strict CSP, CSRF on every POST, and every
failure shown as a friendly page in the client's language (pt-BR by default) with the right status, never a stack trace.
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from esign.errors import PortalError
from esign.portal import signing, verifying
from esign.portal.security import SecurityHeaders, header_items, honour_trusted_proxies
from esign.portal.services import PortalServices
from esign.portal.texts import client_text
from esign.portal.web import HERE, STATUS, Portal, RedactTokens, log
from esign.requests import ThrottledError


def _install_log_redaction() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in access.filters):
        access.addFilter(RedactTokens())


#: Addresses that only take a form's POST, and the page that form is on.
_ACTIONS = re.compile(r"^/s/(?P<token>[^/]+)/(?:code|verify|sign|decline)/?$")


def _page_of_action(request: Request) -> str | None:
    """Where a GET on a POST-only address goes back to: the link's page, or the upload form of /verify."""
    if request.method not in ("GET", "HEAD"):
        return None
    found = _ACTIONS.match(request.url.path)
    if found is not None:
        return f"/s/{found.group('token')}"
    return None


def create_app(services: PortalServices) -> FastAPI:
    """The portal app; the edge (uvicorn, tests) owns the process and the secret in ``services``."""
    portal = Portal(services)
    app = FastAPI(title="esign portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(SecurityHeaders, hsts=services.settings.secure_cookies)
    honour_trusted_proxies(app, services.settings.trusted_proxies)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(signing.build_router(portal))
    app.include_router(verifying.build_router(portal))
    _install_log_redaction()

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)  # browsers ask on every page; no icon, and no 404 noise

    @app.get("/healthz")
    def healthz() -> Response:
        with services.ledger.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok"})

    @app.exception_handler(PortalError)
    async def portal_error(request: Request, exc: PortalError) -> Response:
        reason = str(getattr(exc, "reason", "error"))
        response = portal.error_page(request, reason, client_text(exc, portal.translator(request)))
        if isinstance(exc, ThrottledError):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return portal.error_page(request, "not_found", status=404)
        back = _page_of_action(request)
        if exc.status_code == 405 and back is not None:  # a form's address opened directly: back to its page
            return RedirectResponse(back, status_code=303)
        return portal.error_page(request, "error", status=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return portal.error_page(request, "not_found", status=404)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        route = request.scope.get("route")
        log.error("portal: unexpected %s on %s", type(exc).__name__, getattr(route, "path", "?"),
                  exc_info=(type(exc), exc, None))  # no traceback: frames may hold tokens in their locals
        response = portal.error_page(request, "error", status=STATUS["error"])
        # this response bypasses the middleware stack
        for name, value in header_items(services.settings.secure_cookies):
            response.headers[name] = value
        response.headers["Cache-Control"] = "no-store"
        return response

    return app
