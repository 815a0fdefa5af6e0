"""The staff register as a FastAPI app under ``/staff``: log in, search documents, open one, act on it.

Separate from the clients' signing pages; same protections (strict headers, CSRF on every POST) and the same
look (it serves the portal's stylesheet beside its own). Every page and API call is narrowed to the documents the
person's rights reach; every action is checked again server-side; every refusal is told in the staff's language.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from esign.access import AccessDeniedError
from esign.errors import EsignError
from esign.pipeline.services import Services
from esign.portal.security import SecurityHeaders, header_items, honour_trusted_proxies, trusted_proxies
from esign.register import acting, auth, pages
from esign.register.errors import FORM_EXPIRED, FORM_TOO_LARGE, ActionError, denial, reason_of
from esign.register.web import HERE, PREFIX, FormExpiredError, FormTooLargeError, NotLoggedInError, Register

#: Login attempts per client IP and minute (per process); the per-account lockout is separate.
LOGINS_PER_MINUTE = 10
PORTAL_STATIC = HERE.parent / "portal" / "static"
log = logging.getLogger("esign.register")


def create_register_app(services: Services, *, secure_cookies: bool = False,
                        logins_per_minute: int = LOGINS_PER_MINUTE,
                        proxies: tuple[str, ...] | None = None) -> FastAPI:
    """The register; ``services`` gives the ledger, outbox and link secret (for the session and CSRF keys).

    ``proxies``: whose forwarded headers to believe (default: ``ESIGN_TRUSTED_PROXIES`` of the services).
    """
    reg = Register(services, secure_cookies)
    t = reg.t
    app = FastAPI(title="esign staff register", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(SecurityHeaders, hsts=secure_cookies)
    honour_trusted_proxies(app, trusted_proxies(services.settings) if proxies is None else proxies)
    app.mount(f"{PREFIX}/static/portal", StaticFiles(directory=PORTAL_STATIC), name="staff-portal-static")
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="staff-static")

    def api(request: Request) -> bool:
        return request.url.path.startswith(f"{PREFIX}/api/")

    @app.exception_handler(NotLoggedInError)
    async def not_logged_in(request: Request, exc: NotLoggedInError) -> Response:
        if api(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return RedirectResponse(f"{PREFIX}/login", status_code=303)

    @app.exception_handler(FormTooLargeError)
    async def too_large(request: Request, exc: FormTooLargeError) -> Response:
        return reg.message(request, t.gettext("Not possible"), t.gettext(FORM_TOO_LARGE), 413)

    @app.exception_handler(AccessDeniedError)
    async def denied(request: Request, exc: AccessDeniedError) -> Response:
        if api(request):
            return JSONResponse({"error": "forbidden", "detail": str(exc)}, status_code=403)
        if isinstance(exc, FormExpiredError):
            return reg.message(request, t.gettext("Page expired"), t.gettext(FORM_EXPIRED), 403)
        return reg.message(request, t.gettext("Access denied"), denial(t, exc), 403)

    @app.exception_handler(EsignError)
    async def refused(request: Request, exc: EsignError) -> Response:
        status = 409 if isinstance(exc, ActionError) else 400
        if api(request):
            return JSONResponse({"error": "refused", "detail": str(exc)}, status_code=status)
        back = request.url.path if request.method == "GET" else request.url.path.rsplit("/", 1)[0]
        return reg.message(request, t.gettext("Not possible"), reason_of(t, exc), status,
                           back if back.startswith(f"{PREFIX}/documents/") else f"{PREFIX}/")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if api(request):
            return JSONResponse({"error": "not_found" if exc.status_code == 404 else "refused"},
                                status_code=exc.status_code)
        if exc.status_code == 404:
            return reg.message(request, t.gettext("Page not found"),
                               t.gettext("This address is not a page of the register."), 404)
        return reg.message(request, t.gettext("Not possible"),
                           t.gettext("This address does not take this kind of request."), exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        route = request.scope.get("route")
        log.error("register: unexpected %s on %s", type(exc).__name__, getattr(route, "path", "?"),
                  exc_info=(type(exc), exc, exc.__traceback__))
        response = reg.render(request, "message.html", {
            "title": t.gettext("Something went wrong"), "user": None, "back": f"{PREFIX}/",
            "message": t.gettext("Try again in a few minutes; the error was logged for the team.")}, 500)
        for name, value in header_items(secure_cookies):  # this response bypasses the middleware stack
            response.headers[name] = value
        return response

    app.include_router(auth.build_router(reg, logins_per_minute))
    app.include_router(pages.build_router(reg))
    app.include_router(acting.build_router(reg))
    return app
