"""The client's pages: open the link, get and confirm a code, then sign or decline."""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable

from fastapi import APIRouter
from starlette.background import BackgroundTasks
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from esign.i18n import Translator
from esign.portal.forms import read_urlencoded
from esign.portal.texts import client_text
from esign.portal.web import STATUS, Portal, client_ip, user_agent
from esign.requests import (
    AlreadySignedError,
    CodeError,
    InvalidInputError,
    NotVerifiedError,
    RequestError,
    RequestStatus,
    SendFailedError,
    SigningRequest,
    ThrottledError,
)

SMALL_FORM = 8 * 1024
SIGN_FORM = 2 * 1024 * 1024  # a drawn signature as a base64 data URL (the PNG itself is capped at 1 MB)
_PNG_PREFIX = "data:image/png;base64,"
_INTENTS = ("sign", "decline")

log = logging.getLogger(__name__)


def _intent(form: dict[str, str]) -> str:
    intent = form.get("intent", "")
    return intent if intent in _INTENTS else "sign"


def _drawn_png(value: str) -> bytes | None:
    if not value:
        return None
    if not value.startswith(_PNG_PREFIX):
        raise InvalidInputError("drawn_png", "the drawn signature is not a PNG data URL")
    try:
        return base64.b64decode(value[len(_PNG_PREFIX):], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInputError("drawn_png", "the drawn signature is not valid base64") from exc


def build_router(portal: Portal) -> APIRouter:
    router = APIRouter()
    requests = portal.requests

    def reader(request: Request, signing_request: SigningRequest) -> Translator:
        """The client's language (the deal's, when it gave one; else the company's)."""
        return portal.translator(request, portal.ledger.get(signing_request.document_id).language)

    def document_context(signing_request: SigningRequest, token: str) -> dict[str, object]:
        document = portal.ledger.get(signing_request.document_id)
        return {"token": token, "document": document, "link": signing_request}

    def code_page(request: Request, signing_request: SigningRequest, token: str, intent: str,
                  message: str = "", status: int = 200, sent: bool = True, failed: bool = False) -> Response:
        context = {**document_context(signing_request, token), "intent": intent, "message": message, "sent": sent,
                   "failed": failed}
        return portal.render(request, "code.html", context, status)

    def step_page(request: Request, signing_request: SigningRequest, token: str, intent: str,
                  message: str = "", status: int = 200, values: dict[str, str] | None = None) -> Response:
        name = "sign.html" if intent == "sign" else "decline.html"
        context = {**document_context(signing_request, token), "message": message, "values": values or {}}
        return portal.render(request, name, context, status)

    def signed_page(request: Request, signing_request: SigningRequest, token: str) -> Response:
        """After the client signed: the thanks, and the final signed file to download once it is sealed."""
        final = portal.pages.final(signing_request.document_id)
        context = {**document_context(signing_request, token), "final": final,
                   "verify_url": f"{portal.settings.public_url}/verify/{signing_request.document_id}"}
        return portal.render(request, "done.html", context)

    @router.get("/s/{token}")
    async def open_link(request: Request, token: str) -> Response:
        found = await run_in_threadpool(requests.lookup, token)
        if found.status is RequestStatus.SIGNED:  # the link stays the client's way to the signed document
            return await run_in_threadpool(signed_page, request, found, token)
        signing_request = await run_in_threadpool(requests.resolve, token)
        await run_in_threadpool(requests.mark_viewed, signing_request, client_ip(request), user_agent(request))
        count = await run_in_threadpool(portal.pages.page_count, signing_request.document_id)
        context = {**document_context(signing_request, token), "pages": list(range(1, count + 1))}
        return portal.render(request, "view.html", context)

    @router.get("/s/{token}/pages/{number:int}.png")
    async def page_image(token: str, number: int) -> Response:
        signing_request = await run_in_threadpool(requests.resolve, token)
        path = await run_in_threadpool(portal.pages.page_png, signing_request.document_id, number)
        return FileResponse(path, media_type="image/png", headers={"Cache-Control": "private, max-age=600"})

    @router.get("/s/{token}/document.pdf")
    async def download(request: Request, token: str) -> Response:
        signing_request = await run_in_threadpool(requests.lookup, token)
        if signing_request.status is not RequestStatus.SIGNED:
            await run_in_threadpool(requests.resolve, token)
        signed = signing_request.status is RequestStatus.SIGNED
        path = await run_in_threadpool(lambda: portal.pages.pdf_path(signing_request.document_id, final=signed))
        info = requests.event_info(signing_request, client_ip(request), user_agent(request))
        await run_in_threadpool(portal.ledger.log, signing_request.document_id, "downloaded", info)
        return FileResponse(path, media_type="application/pdf", filename=f"{signing_request.document_id}.pdf")

    @router.post("/s/{token}/code")
    async def send_code(request: Request, token: str) -> Response:
        portal.throttle(portal.code_limit, request)
        form = await read_urlencoded(request, SMALL_FORM)
        portal.check_csrf(request, form)
        signing_request = await run_in_threadpool(requests.resolve, token)
        intent = _intent(form)
        try:
            await run_in_threadpool(requests.issue_code, signing_request, portal.services.sender,
                                    client_ip(request), user_agent(request), intent)
        except ThrottledError as exc:
            text = client_text(exc, await run_in_threadpool(reader, request, signing_request))
            response = code_page(request, signing_request, token, intent, text, 429, sent=False)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        except SendFailedError:  # the relay did not accept it in time: the page says so and offers to try again
            return code_page(request, signing_request, token, intent, status=STATUS["send_failed"], sent=False,
                             failed=True)
        return code_page(request, signing_request, token, intent)

    @router.post("/s/{token}/verify")
    async def verify_code(request: Request, token: str) -> Response:
        portal.throttle(portal.code_limit, request)
        form = await read_urlencoded(request, SMALL_FORM)
        portal.check_csrf(request, form)
        signing_request = await run_in_threadpool(requests.resolve, token)
        intent = _intent(form)
        try:
            await run_in_threadpool(requests.check_code, signing_request, form.get("code", ""),
                                    client_ip(request), user_agent(request))
        except CodeError as exc:
            text = client_text(exc, await run_in_threadpool(reader, request, signing_request))
            return code_page(request, signing_request, token, intent, text, 400, sent=False)
        response = step_page(request, signing_request, token, intent)
        await run_in_threadpool(portal.remember_verified, response, signing_request, token)
        return response

    async def verified(request: Request, token: str) -> SigningRequest:
        signing_request = await run_in_threadpool(requests.resolve, token)
        if not await run_in_threadpool(portal.verified_here, request, signing_request):
            raise NotVerifiedError("the code was not confirmed in this browser in the last 15 minutes")
        return signing_request

    @router.post("/s/{token}/sign")
    async def sign(request: Request, token: str) -> Response:
        form = await read_urlencoded(request, SIGN_FORM)
        portal.check_csrf(request, form)
        signing_request = await verified(request, token)
        values = {"typed_name": form.get("typed_name", "")[:300]}
        try:
            png = _drawn_png(form.get("drawn_png", ""))
            await run_in_threadpool(requests.sign, signing_request, form.get("typed_name", ""), png,
                                    form.get("consent") == "yes", client_ip(request), user_agent(request))
        except (InvalidInputError, RequestError) as exc:
            if exc.reason not in ("invalid_input", "consent_required"):
                raise
            t = await run_in_threadpool(reader, request, signing_request)
            return step_page(request, signing_request, token, "sign", client_text(exc, t), 400, values)
        return answered(signing_request, token)

    @router.post("/s/{token}/decline")
    async def decline(request: Request, token: str) -> Response:
        form = await read_urlencoded(request, SMALL_FORM)
        portal.check_csrf(request, form)
        signing_request = await verified(request, token)
        try:
            await run_in_threadpool(requests.decline, signing_request, form.get("reason", ""),
                                    client_ip(request), user_agent(request))
        except InvalidInputError as exc:
            values = {"reason": form.get("reason", "")[:1000]}
            t = await run_in_threadpool(reader, request, signing_request)
            return step_page(request, signing_request, token, "decline", client_text(exc, t), 400, values)
        return answered(signing_request, token)

    def answered(signing_request: SigningRequest, token: str) -> Response:
        """To the done page; the next signers are invited after the response went out (the collect run does it
        otherwise, so a failure here loses nothing)."""
        tasks = BackgroundTasks()
        if portal.services.after_answer is not None:
            tasks.add_task(_after_answer, portal.services.after_answer, signing_request.document_id)
        return RedirectResponse(f"/s/{token}/done", status_code=303, background=tasks)

    @router.get("/s/{token}/done")
    async def done(request: Request, token: str) -> Response:
        signing_request = await run_in_threadpool(requests.lookup, token)
        if signing_request.status not in (RequestStatus.SIGNED, RequestStatus.DECLINED):
            if signing_request.status is RequestStatus.OPEN:
                return RedirectResponse(f"/s/{token}", status_code=303)
            await run_in_threadpool(requests.resolve, token)  # expired or canceled: raises the right page
            raise AlreadySignedError("the document is already signed")
        return await run_in_threadpool(signed_page, request, signing_request, token)

    return router


def _after_answer(callback: Callable[[str], object], document_id: str) -> None:
    try:
        callback(document_id)
    except Exception:  # the answer is recorded; the next collect run invites whoever this did not
        log.exception("document %s: inviting the next signers after an answer failed", document_id)
