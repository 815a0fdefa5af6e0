"""Public integrity pages: the QR-code target for a document, and "upload a PDF and check it"."""

from __future__ import annotations

import re

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from esign.errors import EsignError, PortalError
from esign.model import ClientEvidence, Stage
from esign.portal.forms import read_multipart
from esign.portal.web import Portal, log

_DOCUMENT_ID = re.compile(r"^DOC-[0-9A-Z]{16}$")
_MULTIPART_OVERHEAD = 64 * 1024


class NotFoundError(PortalError):
    reason = "not_found"


class UploadError(PortalError):
    reason = "bad_upload"


def build_router(portal: Portal) -> APIRouter:
    router = APIRouter()

    def client_evidence(document_id: str) -> ClientEvidence | None:
        try:
            return portal.requests.evidence(document_id)
        except PortalError:
            return None

    @router.get("/verify/{document_id}")
    async def document_status(request: Request, document_id: str) -> Response:
        document = None
        if _DOCUMENT_ID.match(document_id):
            document = await run_in_threadpool(portal.ledger.maybe_get, document_id)
        if document is None:
            raise NotFoundError("não encontramos um documento com este código")
        events = await run_in_threadpool(portal.ledger.events, document_id)
        versions = await run_in_threadpool(portal.ledger.versions, document_id)
        evidence = await run_in_threadpool(client_evidence, document_id)
        company_signers = [e for e in events if e.stage is Stage.COMPANY_SIGNED]
        # Public page: times, steps and channels only; IP addresses and user agents stay in the ledger.
        return portal.render(request, "verify_document.html", {
            "document": document, "events": events, "versions": versions, "evidence": evidence,
            "company_signers": company_signers,
        })

    @router.get("/verify")
    async def upload_form(request: Request) -> Response:
        return portal.render(request, "verify_upload.html", {"limit_mb": portal.settings.max_upload_bytes >> 20})

    @router.post("/verify")
    async def check_upload(request: Request) -> Response:
        limit = portal.settings.max_upload_bytes
        portal.throttle(portal.upload_limit, request)
        fields = await read_multipart(request, limit + _MULTIPART_OVERHEAD)
        portal.check_csrf(request, {"csrf": fields.get("csrf", ("", b""))[1].decode("ascii", "replace")})
        _, data = fields.get("file", ("", b""))
        context: dict[str, object] = {"limit_mb": limit >> 20}
        if not data:
            return portal.render(request, "verify_upload.html", {**context, "message": "escolha um arquivo PDF"}, 400)
        if len(data) > limit:
            return portal.render(request, "verify_upload.html",
                                 {**context, "message": f"o arquivo passa do limite de {limit >> 20} MB"}, 413)
        if b"%PDF-" not in data[:1024]:  # the header may follow up to 1 KB of junk
            return portal.render(request, "verify_upload.html",
                                 {**context, "message": "o arquivo enviado não é um PDF"}, 400)
        try:
            result = await run_in_threadpool(portal.services.verify, data, portal.ledger, portal.services.trust_roots)
        except EsignError as exc:
            log.info("verify: file could not be examined: %s", type(exc).__name__)
            return portal.render(request, "verify_result.html", {
                "status": "unknown", "reasons": ["não foi possível examinar este arquivo"], "sha256": "",
                "document_id": None, "signatures": [],
            })
        verdict = result.to_dict()
        return portal.render(request, "verify_result.html", {
            "status": str(verdict.get("status", "unknown")), "reasons": list(verdict.get("reasons") or []),
            "sha256": str(verdict.get("sha256") or ""), "document_id": verdict.get("document_id"),
            "signatures": [s for s in verdict.get("signatures") or [] if isinstance(s, dict)],
        })

    return router
