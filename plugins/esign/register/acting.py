"""The register's changing routes: one action on a document, a bulk action on a selection, the signed ZIP.

Every POST carries the CSRF token; every action is checked again here whatever the page offered. A single
action answers with a redirect to the document, whose page then shows once what was done (post/redirect/get);
a bulk action answers with a page listing, per document, what was done or why it was skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from esign.register import outcomes
from esign.register.bulk import BULK_ACTIONS, run_bulk, signed_zip
from esign.register.errors import UNKNOWN_ACTION, ActionError
from esign.register.web import PREFIX, Register


def _days(text: str) -> int:
    return int(text) if text.strip().isdigit() else 0


def _position(text: str) -> int | None:
    """The signer a form names (their position), or None for "the first one whose link is open"."""
    return int(text) if text.strip().isdigit() and 0 < int(text) < 1000 else None


def _back(path: str) -> str:
    """Where "back" leads after a bulk action: the list as it was, or the list (only paths of the register)."""
    return path if path.startswith(f"{PREFIX}/") and "//" not in path and "\\" not in path else f"{PREFIX}/"


def build_router(reg: Register) -> APIRouter:
    router = APIRouter()
    actions, t = reg.actions, reg.t

    @router.post(f"{PREFIX}/documents/{{document_id}}/{{action}}")
    async def act(request: Request, document_id: str, action: str) -> Response:
        principal = reg.who(request)
        data = await reg.form(request)
        if action == "cancel":
            text = outcomes.canceled(t, actions.cancel(principal, document_id, data.get("reason", "")))
        elif action == "resend":
            text = outcomes.resent(t, *actions.resend(principal, document_id, signer=_position(data.get("signer", ""))))
        elif action == "extend":
            text = outcomes.extended(t, actions.extend(principal, document_id, _days(data.get("days", ""))))
        elif action == "write_back":
            text = outcomes.written_back(t, actions.retry_write_back(principal, document_id))
        else:
            raise ActionError(UNKNOWN_ACTION, action=action)
        response = RedirectResponse(f"{PREFIX}/documents/{document_id}", status_code=303)
        return reg.notify(response, text)

    @router.post(f"{PREFIX}/bulk/{{action}}")
    async def bulk(request: Request, action: str) -> Response:
        principal = reg.who(request)
        data = await reg.form(request)
        if action not in BULK_ACTIONS:
            raise ActionError(UNKNOWN_ACTION, action=action)
        outcome = run_bulk(actions, principal, t, action, data.get("doc", []), days=_days(data.get("days", "")),
                           reason=data.get("reason", ""))
        return reg.render(request, "bulk.html", {"user": principal, "outcome": outcome,
                                                 "back": _back(data.get("back", ""))})

    @router.post(f"{PREFIX}/download.zip")
    async def download_zip(request: Request) -> Response:
        principal = reg.who(request)
        data = await reg.form(request)
        archive, included, skipped = signed_zip(actions, principal, t, data.get("doc", []))
        if not included:
            archive.close()
            return reg.render(request, "bulk.html", {"user": principal, "outcome": None, "skipped": skipped,
                                                     "back": _back(data.get("back", ""))}, 409)
        name = t.gettext("signed-contracts") + ".zip"
        headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store",
                   "X-Included": str(included), "X-Skipped": str(len(skipped))}

        def chunks() -> Iterator[bytes]:
            with archive:
                while block := archive.read(256 * 1024):
                    yield block

        return StreamingResponse(chunks(), media_type="application/zip", headers=headers)

    return router
