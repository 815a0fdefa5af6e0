"""Public integrity pages: the QR-code target for a document, and "upload a PDF and check it".

Uploads are examined in a child process with time and memory limits (:mod:`esign.verify.sandbox`, through the
injected ``verify`` function); the pages show the verdict in the reader's language (pt-BR by default).
"""

from __future__ import annotations

import re

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from esign.dispatch.labels import event_channel_label
from esign.errors import EsignError, PortalError
from esign.i18n import Translator
from esign.model import ClientEvidence, Stage
from esign.model.labels import company_signer, event_label
from esign.portal.forms import read_multipart
from esign.portal.web import Portal, log
from esign.verify.presentation import STAGES, VERSIONS, view
from esign.verify.reasons import reason
from esign.verify.verifier import UNKNOWN, VerificationResult

_DOCUMENT_ID = re.compile(r"^DOC-[0-9A-Z]{16}$")
_MULTIPART_OVERHEAD = 64 * 1024


class NotFoundError(PortalError):
    reason = "not_found"


class UploadError(PortalError):
    reason = "bad_upload"


def _other_name(counterparty: str, signer: str) -> str:
    """The counterparty beside the person who signed, unless it is that person (a client signing for themself)."""
    def fold(name: str) -> str:
        return " ".join(name.split()).casefold()

    return "" if fold(counterparty) == fold(signer) else counterparty


def build_router(portal: Portal) -> APIRouter:
    router = APIRouter()

    def _reader(request: Request) -> Translator:
        """The page's language: ``?lang=`` when given (en, es), else the company's; times in the company's zone."""
        return portal.translator(request)

    def client_evidence(document_id: str) -> ClientEvidence | None:
        try:
            return portal.requests.evidence(document_id)[0]  # the first signer (the others: i21 surfaces)
        except PortalError:
            return None

    def render(request: Request, name: str, context: dict[str, object], status: int = 200) -> Response:
        t = _reader(request)
        return portal.render(request, name, {**t.jinja_context(), **context}, status)

    @router.get("/verify/{document_id}")
    async def document_status(request: Request, document_id: str) -> Response:
        document = None
        if _DOCUMENT_ID.match(document_id):
            document = await run_in_threadpool(portal.ledger.maybe_get, document_id)
        if document is None:
            raise NotFoundError(_reader(request).gettext("we found no document with this code"))
        events = await run_in_threadpool(portal.ledger.events, document_id)
        versions = await run_in_threadpool(portal.ledger.versions, document_id)
        evidence = await run_in_threadpool(client_evidence, document_id)
        company_signers = [e for e in events if e.stage is Stage.COMPANY_SIGNED]
        t = _reader(request)
        # Public page: times, steps and channels only; IP addresses and user agents stay in the ledger.
        return render(request, "verify_document.html", {
            "document": document, "events": events, "versions": versions, "evidence": evidence,
            "company_signers": company_signers, "stage": t.gettext(STAGES[document.stage]),
            "completed": document.stage is Stage.COMPLETED,
            "version_label": lambda kind: t.gettext(VERSIONS[kind]) if kind in VERSIONS else kind,
            "action_label": lambda action: event_label(str(action), t),
            "channel_label": lambda channel: event_channel_label(str(channel), t),
            "company_signer": lambda e: company_signer(e.actor, e.detail or ""),
            "counterparty": _other_name(document.counterparty_name, evidence.signer_name if evidence else ""),
        })

    @router.get("/verify")
    async def upload_form(request: Request) -> Response:
        return render(request, "verify_upload.html", {"limit_mb": portal.settings.max_upload_bytes >> 20})

    @router.post("/verify")
    async def check_upload(request: Request) -> Response:
        limit = portal.settings.max_upload_bytes
        portal.throttle(portal.upload_limit, request)
        fields = await read_multipart(request, limit + _MULTIPART_OVERHEAD)
        portal.check_csrf(request, {"csrf": fields.get("csrf", ("", b""))[1].decode("ascii", "replace")})
        _, data = fields.get("file", ("", b""))
        t = _reader(request)
        context: dict[str, object] = {"limit_mb": limit >> 20}
        if not data:
            return render(request, "verify_upload.html", {**context, "message": t.gettext("choose a PDF file")}, 400)
        if len(data) > limit:
            message = t.gettext("the file is over the limit of %(mb)s MB") % {"mb": limit >> 20}
            return render(request, "verify_upload.html", {**context, "message": message}, 413)
        if b"%PDF-" not in data[:1024]:  # the header may follow up to 1 KB of junk
            return render(request, "verify_upload.html",
                          {**context, "message": t.gettext("the file sent is not a PDF")}, 400)
        try:
            result = await run_in_threadpool(portal.services.verify, data, portal.ledger, portal.services.trust_roots)
        except EsignError as exc:
            log.info("verify: file could not be examined: %s", type(exc).__name__)
            result = VerificationResult(UNKNOWN, "", reasons=[reason("unreadable")])
        if not isinstance(result, VerificationResult):  # a verify function from elsewhere: its plain-data form
            raise TypeError("the portal's verify function must return esign.verify.VerificationResult")
        return render(request, "verify_result.html", {
            "verdict": view(result, t), "sha256": result.sha256, "document_id": result.document_id,
        })

    return router
