"""The register's reading routes: the list (and its CSV and JSON forms), a document's page, its files.

The list, the CSV export and the API take the same query string (:mod:`esign.register.filters`) and the same
scope: only documents the person may view, CPF/CNPJ searched and shown only where they may see the parties.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse

from esign.access import Principal, Right
from esign.model import Stage
from esign.model.labels import stage_label
from esign.register import queries
from esign.register.actions import FITS, MAX_EXTEND_DAYS, VERSION_KINDS
from esign.register.document_view import copy_views, link_view, message_views, signer_views
from esign.register.errors import NO_VERSION, ActionError, Msg
from esign.register.export import csv_chunks
from esign.register.filters import PER_PAGE_CHOICES, Query, read_query
from esign.register.labels import run_label
from esign.register.people import manager_names
from esign.register.rows import manager_display, rows_for, rows_in_chunks
from esign.register.web import PREFIX, Register
from esign.requests.signer_states import SignerStatus, states_for, states_for_many
from esign.store import DocumentRecord

#: The most rows one CSV file holds; a larger search is refused with a request to narrow it.
EXPORT_MAX = 100_000


def build_router(reg: Register) -> APIRouter:
    router = APIRouter()
    services, actions, t = reg.services, reg.actions, reg.t
    policy, engine = actions.policy, services.ws.engine

    def scope(principal: Principal) -> queries.Scope:
        return queries.Scope(policy.scope(principal, Right.DOCUMENTS_VIEW), policy.scope(principal, Right.PARTIES_VIEW))

    def sees_parties(principal: Principal) -> Callable[[DocumentRecord], bool]:
        reach = policy.scope(principal, Right.PARTIES_VIEW)
        return lambda record: reach is None or (record.manager_id is not None and record.manager_id in reach)

    def found(query: Query, reach: queries.Scope) -> tuple[int, list[DocumentRecord], int]:
        """(total, the page's documents, the page shown) for a valid query."""
        total = queries.count(engine, query.filters, reach)
        pages = max(1, -(-total // query.per_page))
        page = min(query.page, pages)
        records = queries.search(engine, query.filters, reach, limit=query.per_page,
                                 offset=(page - 1) * query.per_page)
        return total, records, page

    @router.get(f"{PREFIX}/")
    def register_list(request: Request) -> Response:
        principal = reg.who(request)
        query, reach = read_query(request.query_params, t), scope(principal)
        total, records, page = found(query, reach) if not query.errors else (0, [], 1)
        managers = queries.managers_in_scope(engine, reach)
        names = manager_names(services, managers)
        context = {
            "user": principal, "query": query, "q": query.values, "errors": query.errors, "total": total,
            "rows": rows_for(services, t, records), "page": page, "pages": max(1, -(-total // query.per_page)),
            "per_page_choices": PER_PAGE_CHOICES, "stage_codes": [s.value for s in Stage],
            "stages": [(s.value, stage_label(s, t)) for s in Stage],
            "managers": sorted(((m, manager_display(names, m)) for m in managers), key=lambda p: p[1].lower()),
            "templates_": queries.templates_in_scope(engine, reach),
            "runs": [(r.run_id, run_label(t, r)) for r in queries.recent_runs(engine)],
            "offered_bulk": [a for a in ("resend", "extend", "cancel")
                             if policy.scope(principal, FITS[a][0]) != frozenset()],
        }
        return reg.render(request, "list.html", context, 400 if query.errors else 200)

    @router.get(f"{PREFIX}/export.csv")
    def export_csv(request: Request) -> Response:
        principal = reg.who(request)
        query, reach = read_query(request.query_params, t), scope(principal)
        if query.errors:
            return reg.message(request, t.gettext("The export was not made"), " ".join(query.errors.values()), 400,
                               f"{PREFIX}/?{query.link()}")
        total = queries.count(engine, query.filters, reach)
        if total > EXPORT_MAX:
            text = t.gettext("The search matches %(total)s documents; an export holds at most %(max)s. Narrow the "
                             "filters (dates, stage, run) and export again.") % {
                "total": t.format_number(total), "max": t.format_number(EXPORT_MAX)}
            return reg.message(request, t.gettext("The export was not made"), text, 413, f"{PREFIX}/?{query.link()}")
        rows = rows_in_chunks(services, t, queries.every_match(engine, query.filters, reach))
        name = t.gettext("documents") + f"-{t.local(reg.now()):%Y%m%d-%H%M}.csv"
        return StreamingResponse(csv_chunks(t, rows, sees_parties(principal)), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="{name}"',
                                          "Cache-Control": "no-store"})

    @router.get(f"{PREFIX}/api/documents")
    def api_documents(request: Request) -> Response:
        principal = reg.who(request)
        query, reach = read_query(request.query_params, t), scope(principal)
        if query.errors:
            return JSONResponse({"error": "invalid_query", "fields": query.errors}, status_code=400)
        total, records, page = found(query, reach)
        rows = rows_for(services, t, records)
        states = states_for_many(services.requests, records)
        pages = max(1, -(-total // query.per_page))
        base = f"{request.url.path}?"
        links = {"next": base + query.link(page=page + 1) if page < pages else None,
                 "previous": base + query.link(page=page - 1) if page > 1 else None}
        body = {"items": [_item(row.record, row.manager, row.batch, states.get(row.record.id, [])) for row in rows],
                "total": total, "page": page,
                "per_page": query.per_page, "pages": pages, **links}
        response = JSONResponse(body)
        response.headers["Cache-Control"] = "no-store"
        if links["next"]:
            response.headers["Link"] = f'<{links["next"]}>; rel="next"'
        return response

    @router.get(f"{PREFIX}/documents/{{document_id}}")
    def document_page(request: Request, document_id: str) -> Response:
        principal = reg.who(request)
        record = actions.document(principal, document_id)
        contacts = policy.allows(principal, Right.PARTIES_VIEW, record.manager_id)
        entries = services.outbox.entries(document_id=document_id)
        versions = services.ws.ledger.versions(document_id)
        offered = actions.offered(principal, record)
        statuses = states_for(services.requests, record)
        context = {
            "user": principal, "doc": record, "row": rows_for(services, t, [record])[0], "contacts": contacts,
            "versions": [(v, t.gettext(VERSION_KINDS.get(v.kind, v.kind))) for v in versions],
            "events": services.ws.ledger.events(document_id), "offered": offered,
            "link": link_view(services, record, entries, reg.now(), contacts),
            "signers": signer_views(statuses, reg.now(), contacts, "resend" in offered),
            "copies": copy_views(record, contacts),
            "messages": message_views(entries, contacts), "crm_pending": actions.crm_pending(record),
            "notice": reg.take_notice(request), "max_days": MAX_EXTEND_DAYS,
        }
        response = reg.render(request, "document.html", context)
        if context["notice"]:
            reg.clear_notice(response)
        return response

    @router.get(f"{PREFIX}/documents/{{document_id}}/files/{{kind}}")
    def download(request: Request, document_id: str, kind: str) -> Response:
        principal = reg.who(request)
        if kind not in VERSION_KINDS:
            raise ActionError(NO_VERSION, id=document_id, kind=Msg(kind))
        path = actions.version_file(principal, document_id, kind)
        actions.downloaded(principal, document_id, kind)
        return FileResponse(path, media_type="application/pdf", filename=f"{document_id}-{kind}.pdf",
                            headers={"Cache-Control": "no-store"})

    return router


def _item(record: DocumentRecord, manager: str, batch: str, signers: list[SignerStatus]) -> dict[str, object]:
    return {"id": record.id, "deal_id": record.deal_id, "stage": record.stage.value, "template": record.template_id,
            "batch": record.batch_id, "batch_label": batch, "manager_id": record.manager_id, "manager": manager,
            "counterparty": record.counterparty_name, "title": record.title,
            "created_at": record.created_at.isoformat(),
            # each signer's position, role and state (no names or contacts: the list shows no parties' data)
            "signers": [{"position": s.position, "role": s.role.value, "state": s.state.value,
                         "signed_at": s.signed_at.isoformat() if s.signed_at else None} for s in signers]}
