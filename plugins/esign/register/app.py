"""The staff register as a FastAPI app under ``/staff``: log in, search documents, open one, act on it.

Separate from the clients' signing pages; same protections (strict headers, CSRF on every POST). Every page
and API call is narrowed to the documents the person's rights reach; every action is checked again server-side.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from esign.access import AccessDeniedError, AccessStore, Principal, Right, UnknownUserError
from esign.errors import EsignError
from esign.pipeline.services import Services
from esign.portal.security import Csrf, RateLimiter, SecurityHeaders
from esign.register.actions import ActionError, DocumentActions
from esign.register.queries import DocumentFilter, search
from esign.register.session import SESSION_COOKIE, SESSION_SECONDS, Sessions

HERE = Path(__file__).parent
PREFIX = "/staff"
_FILTERS = ("stage", "deal", "counterparty", "manager", "template", "batch")
#: Login attempts per client IP and minute (per process), and the largest form body accepted.
LOGINS_PER_MINUTE = 10
MAX_FORM_BYTES = 256 * 1024


class NotLoggedInError(EsignError):
    pass


class FormTooLargeError(EsignError):
    pass


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def create_register_app(services: Services, *, secure_cookies: bool = False,
                        logins_per_minute: int = LOGINS_PER_MINUTE) -> FastAPI:
    """The register; ``services`` gives the ledger, outbox and link secret (for the session and CSRF keys)."""
    actions = DocumentActions(services)
    store = AccessStore(services.ws.engine)
    sessions = Sessions(services.requests.derive_key("staff-session"), store)
    csrf = Csrf(services.requests.derive_key("staff-csrf"), secure_cookies)
    login_limit = RateLimiter(logins_per_minute)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app = FastAPI(title="esign staff register", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(SecurityHeaders, hsts=secure_cookies)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="staff-static")

    def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        values = {"csrf_token": csrf.token(request), "prefix": PREFIX, **context}
        response = templates.TemplateResponse(request, name, values, status_code=status)
        response.headers["Cache-Control"] = "no-store"
        return csrf.attach(request, response)

    def who(request: Request) -> Principal:
        principal = sessions.principal(request)
        if principal is None:
            raise NotLoggedInError("log in first")
        return principal

    async def form(request: Request) -> dict[str, Any]:
        declared = request.headers.get("content-length", "")
        if not declared.isdigit() or int(declared) > MAX_FORM_BYTES:  # browsers always send the length
            raise FormTooLargeError("the form is too large")
        data = await request.form()
        if not csrf.valid(request, str(data.get("csrf", ""))):
            raise AccessDeniedError("the form expired (CSRF check failed); reload the page")
        return {k: data.getlist(k) if k == "doc" else str(v) for k, v in data.items()}

    @app.exception_handler(NotLoggedInError)
    async def not_logged_in(request: Request, exc: NotLoggedInError) -> Response:
        if request.url.path.startswith(f"{PREFIX}/api/"):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return RedirectResponse(f"{PREFIX}/login", status_code=303)

    @app.exception_handler(FormTooLargeError)
    async def too_large(request: Request, exc: FormTooLargeError) -> Response:
        return page(request, "message.html", {"title": "Não foi possível", "message": str(exc)}, 413)

    @app.exception_handler(AccessDeniedError)
    async def denied(request: Request, exc: AccessDeniedError) -> Response:
        if request.url.path.startswith(f"{PREFIX}/api/"):
            return JSONResponse({"error": "forbidden", "detail": str(exc)}, status_code=403)
        return page(request, "message.html", {"title": "Acesso negado", "message": str(exc)}, 403)

    @app.exception_handler(EsignError)
    async def refused(request: Request, exc: EsignError) -> Response:
        return page(request, "message.html", {"title": "Não foi possível", "message": str(exc)},
                    409 if isinstance(exc, ActionError) else 400)

    @app.get(f"{PREFIX}/login")
    def login_form(request: Request) -> Response:
        return page(request, "login.html", {"error": ""})

    @app.post(f"{PREFIX}/login")
    async def login(request: Request) -> Response:
        wait = login_limit.hit(request.client.host if request.client else "")
        if wait is not None:
            response = page(request, "login.html", {"error": "Muitas tentativas; aguarde e tente de novo."}, 429)
            response.headers["Retry-After"] = str(wait)
            return response
        data = await form(request)
        try:
            principal = store.authenticate_password(data.get("login", ""), data.get("password", ""))
        except UnknownUserError:
            return page(request, "login.html", {"error": "Login ou senha incorretos."}, 401)
        response = RedirectResponse(f"{PREFIX}/", status_code=303)
        response.set_cookie(SESSION_COOKIE, sessions.issue(principal.login), httponly=True, samesite="strict",
                            secure=secure_cookies, path=PREFIX, max_age=SESSION_SECONDS)
        return response

    @app.post(f"{PREFIX}/logout")
    async def logout(request: Request) -> Response:
        await form(request)
        sessions.end(request)
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response

    def _search(request: Request, principal: Principal) -> tuple[DocumentFilter, list[Any]]:
        q = request.query_params
        filters = DocumentFilter(**{k: q.get(k, "") for k in _FILTERS}, created_from=_date(q.get("from", "")),
                                 created_to=_date(q.get("to", "")))
        return filters, search(services.ws.engine, filters, actions.policy.scope(principal, Right.DOCUMENTS_VIEW))

    @app.get(f"{PREFIX}/")
    def register_list(request: Request) -> Response:
        principal = who(request)
        filters, docs = _search(request, principal)
        return page(request, "list.html", {"user": principal, "docs": docs, "filters": filters,
                                           "q": dict(request.query_params)})

    @app.get(f"{PREFIX}/api/documents")
    def api_documents(request: Request) -> Response:
        principal = who(request)
        _, docs = _search(request, principal)
        return JSONResponse([{"id": d.id, "deal_id": d.deal_id, "stage": d.stage.value, "template": d.template_id,
                              "batch": d.batch_id, "manager_id": d.manager_id, "counterparty": d.counterparty_name,
                              "created_at": d.created_at.isoformat()} for d in docs])

    @app.get(f"{PREFIX}/documents/{{document_id}}")
    def document_page(request: Request, document_id: str) -> Response:
        principal = who(request)
        record = actions.document(principal, document_id)
        contacts = actions.policy.allows(principal, Right.PARTIES_VIEW, record.manager_id)
        can = {r.value: actions.policy.allows(principal, r, record.manager_id)
               for r in (Right.DOCUMENTS_RESEND, Right.DOCUMENTS_CANCEL, Right.DOCUMENTS_EDIT)}
        return page(request, "document.html", {
            "user": principal, "doc": record, "versions": services.ws.ledger.versions(document_id),
            "events": services.ws.ledger.events(document_id), "contacts": contacts, "can": can})

    @app.get(f"{PREFIX}/documents/{{document_id}}/files/{{kind}}")
    def download(request: Request, document_id: str, kind: str) -> Response:
        principal = who(request)
        if kind not in ("rendered", "company_signed", "final"):
            raise ActionError(f"unknown version {kind!r}")
        path = actions.version_file(principal, document_id, kind)
        return FileResponse(path, media_type="application/pdf", filename=f"{document_id}-{kind}.pdf",
                            headers={"Cache-Control": "no-store"})

    @app.post(f"{PREFIX}/documents/{{document_id}}/{{action}}")
    async def act(request: Request, document_id: str, action: str) -> Response:
        principal = who(request)
        data = await form(request)
        if action == "cancel":
            actions.cancel(principal, document_id, data.get("reason", ""))
        elif action == "resend":
            actions.resend(principal, document_id)
        elif action == "extend":
            days = data.get("days", "7")
            actions.extend(principal, document_id, int(days) if days.isdigit() else 0)
        else:
            raise ActionError(f"unknown action {action!r}")
        return RedirectResponse(f"{PREFIX}/documents/{document_id}", status_code=303)

    @app.post(f"{PREFIX}/download.zip")
    async def download_zip(request: Request) -> Response:
        principal = who(request)
        data = await form(request)
        ids = [str(i) for i in data.get("doc", [])]
        if not ids:
            raise ActionError("select at least one document")
        content, skipped = actions.signed_zip(principal, ids)
        headers = {"Content-Disposition": 'attachment; filename="contratos-assinados.zip"',
                   "Cache-Control": "no-store", "X-Skipped": str(len(skipped))}
        return Response(content, media_type="application/zip", headers=headers)

    return app
