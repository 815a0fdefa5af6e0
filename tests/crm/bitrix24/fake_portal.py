"""A Bitrix24 portal on a loopback port, speaking the REST protocol the way the real one does.

What it reproduces (after the official REST docs and SDKs): webhook paths ``/rest/<user>/<code>/<method>``,
JSON POST bodies, legacy ``crm.*`` rows with every scalar as a string and null for empty values, 50-row pages,
``start=-1`` (``"total":0``, no ``"next"``), ``select`` (``*`` leaves out PHONE/EMAIL), filters with ``@`` (IN)
and ``=`` on arrays, ``crm.item.productrow.list`` in camelCase with numbers as numbers, the deal's CONTACT_ID
kept equal to its primary contact binding, ``batch`` with commands as PHP query strings parsed first and
``$result[cmd][49][ID]`` references resolved afterwards (an unresolvable path gives the deepest node found,
e.g. the whole previous page; a failed command gives nothing), ``[]`` for empty batch sections, the three
not-found shapes, auth errors, a leaky-bucket rate limit answering 503 QUERY_LIMIT_EXCEEDED, the per-method
execution-time budget (``time.operating``/``operating_reset_at`` in every answer, 429 OPERATION_TIME_LIMIT,
each command inside ``batch`` counted), a deleted portal (500 PORTAL_DELETED), scripted failures, and a
renamed portal that answers 302.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from tests.crm.bitrix24.fake_operating import OperatingLedger

PAGE = 50
Json = Any


class PortalError(Exception):
    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status, self.code, self.description = status, code, description

    def body(self) -> dict[str, str]:
        return {"error": self.code, "error_description": self.description}


NOT_FOUND = PortalError(400, "", "Not found")


@dataclass
class Logged:
    method: str
    body: Json
    status: int = 200


@dataclass
class ServerBucket:
    """The portal's own limit: burst, draining ``rate`` per second of ``clock``."""

    burst: int
    rate: float
    clock: Callable[[], float]
    level: float = 0.0
    at: float | None = None

    def take(self) -> bool:
        now = self.clock()
        if self.at is not None:
            self.level = max(0.0, self.level - (now - self.at) * self.rate)
        self.at = now
        if self.level + 1 > self.burst:
            return False
        self.level += 1
        return True


@dataclass
class FakePortal:
    user_id: str = "7"
    code: str = "k3yc0de9x2"
    deals: dict[int, dict[str, Json]] = field(default_factory=dict)
    companies: dict[int, dict[str, Json]] = field(default_factory=dict)
    contacts: dict[int, dict[str, Json]] = field(default_factory=dict)
    users: dict[int, dict[str, Json]] = field(default_factory=dict)
    departments: dict[int, dict[str, Json]] = field(default_factory=dict)
    product_rows: dict[int, list[dict[str, Json]]] = field(default_factory=dict)
    deal_contacts: dict[int, list[dict[str, Json]]] = field(default_factory=dict)
    categories: list[dict[str, Json]] = field(default_factory=list)
    statuses: dict[str, list[dict[str, Json]]] = field(default_factory=dict)
    comments: list[dict[str, Json]] = field(default_factory=list)
    updates: list[dict[str, Json]] = field(default_factory=list)
    log: list[Logged] = field(default_factory=list)
    scripted: list[tuple[int, Json]] = field(default_factory=list)  # next answers, whatever is asked
    bucket: ServerBucket | None = None
    denied_methods: dict[str, PortalError] = field(default_factory=dict)
    after_call: Callable[[str, dict[str, Json]], None] | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    clock: Callable[[], float] = time.time  # Unix time: operating_reset_at is a timestamp
    deleted: bool = False  # every call answers 500 PORTAL_DELETED
    operating: OperatingLedger = field(init=False)
    commands: list[str] = field(default_factory=list)  # every method run, direct or inside batch

    def __post_init__(self) -> None:
        self.operating = OperatingLedger(clock=lambda: self.clock())

    # -- data ----------------------------------------------------------------------------------------
    def add_pipeline(self, category_id: int, name: str, stages: list[tuple[str, str, str | None]]) -> None:
        """Stages as (code without prefix, name, semantics)."""
        self.categories.append({"id": category_id, "name": name, "sort": 100 + category_id,
                                "entityTypeId": 2, "isDefault": "Y" if category_id == 0 else "N"})
        entity = "DEAL_STAGE" if category_id == 0 else f"DEAL_STAGE_{category_id}"
        prefix = "" if category_id == 0 else f"C{category_id}:"
        self.statuses[entity] = [
            {"ID": str(900 + category_id * 20 + i), "ENTITY_ID": entity, "STATUS_ID": prefix + code, "NAME": label,
             "NAME_INIT": label, "SORT": str((i + 1) * 10), "SYSTEM": "N", "CATEGORY_ID": str(category_id),
             "SEMANTICS": semantics, "EXTRA": {"SEMANTICS": "process", "COLOR": "#39A8EF"}}
            for i, (code, label, semantics) in enumerate(stages)]

    def add_deal(self, deal_id: int, **fields: Json) -> dict[str, Json]:
        row = {"ID": str(deal_id), "TITLE": f"Deal {deal_id}", "TYPE_ID": "SALE", "STAGE_ID": "C1:PREPARATION",
               "CATEGORY_ID": "1", "PROBABILITY": None, "CURRENCY_ID": "BRL", "OPPORTUNITY": "1000.00",
               "IS_MANUAL_OPPORTUNITY": "N", "TAX_VALUE": "0.00", "COMPANY_ID": "0", "CONTACT_ID": None,
               "ASSIGNED_BY_ID": "1", "DATE_CREATE": "2024-09-02T18:37:18+02:00", "COMMENTS": None}
        row.update({k: (None if v is None else v if isinstance(v, list) else str(v)) for k, v in fields.items()})
        self.deals[deal_id] = row
        return row

    # -- HTTP ----------------------------------------------------------------------------------------
    def handle(self, path: str, raw: bytes) -> tuple[int, Json]:
        match = re.fullmatch(r"/rest/(\d+)/([^/]+)/([a-z0-9_.]+?)(?:\.json)?", path)
        with self.lock:
            method = match.group(3) if match else path
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = None
            entry = Logged(method, body)
            self.log.append(entry)
            status, answer = self._answer(match, method, body)
            entry.status = status
            return status, answer

    def _answer(self, match: re.Match[str] | None, method: str, body: Json) -> tuple[int, Json]:
        if match is None:
            return 404, {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}
        if match.group(1) != self.user_id or match.group(2) != self.code:
            return 401, {"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"}
        if self.scripted:
            return self.scripted.pop(0)
        if self.deleted:
            return 500, {"error": "PORTAL_DELETED", "error_description": "Portal was deleted"}
        if self.bucket is not None and not self.bucket.take():
            return 503, {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
        if not isinstance(body, dict):
            return 400, {"error": "INVALID_REQUEST", "error_description": "Body is not JSON"}
        try:
            if method == "batch":
                return 200, {"result": self._batch(body), "time": self.operating.time(None)}
            result, extra = self._call(method, body)
        except PortalError as exc:
            answer = exc.body()
            if exc.code == "OPERATION_TIME_LIMIT":
                answer["time"] = self.operating.time(method)
            return exc.status, answer
        return 200, {"result": result, **extra, "time": self.operating.time(method)}

    def _batch(self, body: dict[str, Json]) -> dict[str, Json]:
        commands = body.get("cmd") or {}
        if len(commands) > 50:
            raise PortalError(400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded")
        sections: dict[str, dict[str, Json]] = {"result": {}, "result_error": {}, "result_total": {},
                                                "result_next": {}, "result_time": {}}
        for name, cmd in commands.items():
            method, _, query = str(cmd).partition("?")
            if method == "batch":
                sections["result_error"][name] = {"error": "ERROR_BATCH_METHOD_NOT_ALLOWED",
                                                  "error_description": "Method is not allowed for batch usage"}
                continue
            params = _resolve(parse_php_query(query), sections["result"])  # parsed first, then resolved
            try:
                result, extra = self._call(method, params)
            except PortalError as exc:
                sections["result_error"][name] = exc.body()
                if body.get("halt") in (1, "1", True):
                    break
                continue
            sections["result"][name] = result
            if "total" in extra:
                sections["result_total"][name] = extra["total"]
            if "next" in extra:
                sections["result_next"][name] = extra["next"]
            sections["result_time"][name] = self.operating.time(method)
        return {key: (value if value else []) for key, value in sections.items()}  # PHP: empty array is []

    def _call(self, method: str, params: dict[str, Json]) -> tuple[Json, dict[str, Json]]:
        if method in self.denied_methods:
            raise self.denied_methods[method]
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            raise PortalError(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
        if self.operating.blocked(method):
            raise PortalError(429, "OPERATION_TIME_LIMIT", f"Method is blocked due to operation time limit ({method})")
        self.commands.append(method)
        self.operating.charge(method)
        result: tuple[Json, dict[str, Json]] = handler(params)
        if self.after_call is not None:
            self.after_call(method, params)
        return result

    # -- methods -------------------------------------------------------------------------------------
    def m_crm_deal_list(self, p: dict[str, Json]) -> tuple[Json, dict[str, Json]]:
        return _list([self._deal_row(r) for _, r in sorted(self.deals.items())], p)

    def m_crm_deal_get(self, p: dict[str, Json]) -> tuple[Json, dict[str, Json]]:
        return self._deal_row(self._deal(p)), {}

    def m_crm_deal_update(self, p: dict[str, Json]) -> tuple[Json, dict[str, Json]]:
        deal = self._deal(p)
        fields = p.get("fields") or {}
        self.updates.append({"id": int(p["id"]), "fields": fields, "params": p.get("params")})
        deal.update({k: str(v) for k, v in fields.items() if k in deal})  # unknown fields: silently ignored
        return True, {}

    def m_crm_company_get(self, p: dict[str, Json]) -> tuple[Json, dict[str, Json]]:
        return self._get(self.companies, p), {}

    def m_crm_contact_get(self, p: dict[str, Json]) -> tuple[Json, dict[str, Json]]:
        return self._get(self.contacts, p), {}

    def m_crm_company_list(self, p: dict[str, Json]) -> tuple[Json, dict[str, Json]]:
        return _list([r for _, r in sorted(self.companies.items())], p)

    def m_crm_contact_list(self, p: dict[str, Json]) -> tuple[Json, dict[str, Json]]:
        return _list([r for _, r in sorted(self.contacts.items())], p)

    def m_crm_deal_contact_items_get(self, p: dict[str, Json]) -> tuple[Json, dict[str, Json]]:
        deal = self._deal(p)
        return list(self.deal_contacts.get(int(deal["ID"]), [])), {}

    def m_crm_deal_productrows_get(self, p: dict[str, Json]) -> tuple[Json, dict[str, Json]]:
        """Legacy shape: IDs as strings, prices and quantities as numbers."""
        deal = self._deal(p)
        rows = sorted(self.product_rows.get(int(deal["ID"]), []), key=_row_order)
        return [{"ID": str(r.get("ID")), "OWNER_ID": deal["ID"], "OWNER_TYPE": "D",
                 "PRODUCT_ID": int(r.get("PRODUCT_ID") or 0), "PRODUCT_NAME": r.get("PRODUCT_NAME"),
                 "PRICE": r.get("PRICE"), "QUANTITY": r.get("QUANTITY"), "SORT": int(r.get("SORT") or 10)}
                for r in rows], {}

    def m_crm_item_productrow_list(self, p: dict[str, Json]) -> tuple[Json, dict[str, Json]]:
        """camelCase, numbers as numbers; ``=ownerType`` and ``=ownerId`` are required, ``=`` takes arrays."""
        flt = p.get("filter") or {}
        if not isinstance(flt, dict) or "=ownerType" not in flt or "=ownerId" not in flt:
            raise PortalError(400, "INVALID_ARG_VALUE", "Filter must contain =ownerType and =ownerId")
        owners = flt["=ownerId"] if isinstance(flt["=ownerId"], list) else [flt["=ownerId"]]
        rows = []
        if str(flt["=ownerType"]) == "D":
            for owner in sorted({int(o) for o in owners}):
                for r in sorted(self.product_rows.get(owner, []), key=_row_order):
                    rows.append({"id": int(r.get("ID") or 0), "ownerId": owner, "ownerType": "D",
                                 "productId": int(r.get("PRODUCT_ID") or 0), "productName": r.get("PRODUCT_NAME"),
                                 "price": r.get("PRICE"), "quantity": r.get("QUANTITY"),
                                 "sort": int(r.get("SORT") or 10), "taxRate": None, "taxIncluded": "Y"})
        for key, direction in reversed(list((p.get("order") or {}).items())):
            rows.sort(key=lambda r, k=key: r.get(k) or 0, reverse=str(direction).lower() == "desc")
        start = int(p.get("start", 0) or 0)
        extra: dict[str, Json] = {"total": len(rows)}
        if start + PAGE < len(rows):
            extra["next"] = start + PAGE
        return {"productRows": rows[start:start + PAGE]}, extra

    def m_user_get(self, p: dict[str, Json]) -> tuple[Json, dict[str, Json]]:
        flt = p.get("FILTER") or p.get("filter") or ({"ID": p["ID"]} if "ID" in p else {})
        rows = [u for _, u in sorted(self.users.items()) if _matches(u, flt)]
        start = int(p.get("start", 0) or 0)
        extra: dict[str, Json] = {"total": len(rows)}
        if start + PAGE < len(rows):
            extra["next"] = start + PAGE
        return rows[start:start + PAGE], extra

    def m_department_get(self, p: dict[str, Json]) -> tuple[Json, dict[str, Json]]:
        flt = {k: v for k, v in p.items() if k in ("ID", "NAME", "PARENT", "UF_HEAD")}
        rows = [d for _, d in sorted(self.departments.items()) if _matches(d, flt)]
        start = int(p.get("START", p.get("start", 0)) or 0)
        extra: dict[str, Json] = {"total": len(rows)}
        if start + PAGE < len(rows):
            extra["next"] = start + PAGE
        return rows[start:start + PAGE], extra

    def m_crm_category_list(self, p: dict[str, Json]) -> tuple[Json, dict[str, Json]]:
        if str(p.get("entityTypeId")) != "2":
            raise PortalError(400, "NOT_FOUND", "Smart process not found")
        return {"categories": list(self.categories)}, {"total": len(self.categories)}

    def m_crm_status_list(self, p: dict[str, Json]) -> tuple[Json, dict[str, Json]]:
        entity = (p.get("filter") or {}).get("ENTITY_ID")
        rows = self.statuses.get(str(entity), [])
        return sorted(rows, key=lambda r: int(r["SORT"])), {"total": len(rows)}

    def m_crm_item_get(self, p: dict[str, Json]) -> tuple[Json, dict[str, Json]]:
        deal = self.deals.get(int(p.get("id", 0)))
        if deal is None:
            raise PortalError(400, "NOT_FOUND", "Element not found")
        return {"item": {"id": int(deal["ID"]), "title": deal["TITLE"]}}, {}

    def m_crm_timeline_comment_add(self, p: dict[str, Json]) -> tuple[Json, dict[str, Json]]:
        fields = p.get("fields")
        if not isinstance(fields, dict):
            raise PortalError(400, "ERROR_ARGUMENT", "Argument 'fields' is null or empty")
        if str(fields.get("ENTITY_TYPE")).lower() != "deal":
            raise PortalError(400, "ERROR_NOT_FOUND", "Entity not found")
        if int(fields.get("ENTITY_ID") or 0) not in self.deals:  # a deleted deal, as the portal reports it
            raise PortalError(400, "OWNER_NOT_FOUND", "Owner entity not found")
        files = [(str(name), base64.b64decode(data, validate=True)) for name, data in fields.get("FILES") or []]
        comment_id = 1000 + len(self.comments)
        self.comments.append({"id": comment_id, "deal_id": int(fields["ENTITY_ID"]),
                              "text": fields.get("COMMENT"), "files": files})
        return comment_id, {}

    # -- write-backs: timeline comments read back, deleted owners ----------------------------------------
    def m_crm_timeline_comment_list(self, p: dict[str, Json]) -> tuple[Json, dict[str, Json]]:
        """The documented shape: ``filter`` must name ENTITY_ID and ENTITY_TYPE; rows with string IDs; 50 a page;
        ``order`` by ID; an empty ``select`` returns nothing (as the docs warn)."""
        flt = p.get("filter") or {}
        if not isinstance(flt, dict) or "ENTITY_ID" not in flt or "ENTITY_TYPE" not in flt:
            raise PortalError(400, "", "Required fields: ENTITY_ID, ENTITY_TYPE")
        entity_id = int(str(flt["ENTITY_ID"]) or 0)
        rows = [c for c in self.comments
                if c["deal_id"] == entity_id and str(flt["ENTITY_TYPE"]).lower() == "deal"]
        order = p.get("order") or {}
        if isinstance(order, dict) and str(order.get("ID", "ASC")).upper() == "DESC":
            rows = rows[::-1]
        select = p.get("select") or []
        start = int(p.get("start", 0) or 0)
        full = [{"ID": str(c["id"]), "ENTITY_ID": str(c["deal_id"]), "ENTITY_TYPE": "deal",
                 "CREATED": "2024-09-10T20:26:40+00:00", "COMMENT": c["text"], "AUTHOR_ID": self.user_id,
                 "FILES": {str(i + 1): {"id": i + 1, "name": name, "size": len(data)}
                           for i, (name, data) in enumerate(c["files"])}} for c in rows[start:start + PAGE]]
        page = [{k: v for k, v in row.items() if k == "ID" or k in select} for row in full] if select else []
        extra: dict[str, Json] = {"total": len(rows)}
        if start + PAGE < len(rows):
            extra["next"] = start + PAGE
        return page, extra

    # -- helpers -------------------------------------------------------------------------------------
    def _deal(self, p: dict[str, Json]) -> dict[str, Json]:
        try:
            deal = self.deals.get(int(p.get("id") or p.get("ID") or 0))
        except ValueError:
            deal = None
        if deal is None:
            raise NOT_FOUND
        return deal

    def _deal_row(self, deal: dict[str, Json]) -> dict[str, Json]:
        """The portal keeps the deprecated CONTACT_ID equal to the primary contact binding."""
        row = dict(deal)
        bound = self.deal_contacts.get(int(deal["ID"]))
        if bound:
            primary = [b for b in bound if str(b.get("IS_PRIMARY")) == "Y"] or sorted(bound, key=lambda b: b["SORT"])
            row["CONTACT_ID"] = str(primary[0]["CONTACT_ID"])
        return row

    @staticmethod
    def _get(table: dict[int, dict[str, Json]], p: dict[str, Json]) -> Json:
        row = table.get(int(p.get("id") or 0))
        if row is None:
            raise NOT_FOUND
        return dict(row)

    def methods(self) -> list[str]:
        return [entry.method for entry in self.log]


def _row_order(row: dict[str, Json]) -> tuple[int, int]:
    return int(row.get("SORT") or 10), int(row.get("ID") or 0)


_MULTI = ("PHONE", "EMAIL", "WEB", "IM")


def _list(rows: list[dict[str, Json]], p: dict[str, Json]) -> tuple[Json, dict[str, Json]]:
    """A legacy ``crm.*.list``: filter, order by ID, select, 50-row pages (``start=-1``: no count)."""
    flt = p.get("filter") or {}
    rows = [r for r in rows if _matches(r, flt)]
    if str((p.get("order") or {}).get("ID", "ASC")).upper() == "DESC":
        rows.reverse()
    select = p.get("select") or ["*", "UF_*"]
    start = int(p.get("start", 0) or 0)
    if start == -1:
        page, extra = rows[:PAGE], {"total": 0}
    else:
        page = rows[start:start + PAGE]
        extra = {"total": len(rows)}
        if start + PAGE < len(rows):
            extra["next"] = start + PAGE
    return [_select(r, select) for r in page], extra


def _select(row: dict[str, Json], select: list[str]) -> dict[str, Json]:
    """``*`` and ``UF_*`` never include multi-fields (PHONE, EMAIL): they must be named."""
    chosen: dict[str, Json] = {"ID": row.get("ID")}
    for name in select:
        if name == "*":
            chosen.update({k: v for k, v in row.items() if k not in _MULTI and not k.startswith("UF_")})
        elif name == "UF_*":
            chosen.update({k: v for k, v in row.items() if k.startswith("UF_")})
        else:
            chosen[name] = row.get(name)
    return chosen


_OPS = re.compile(r"^(>=|<=|!=|!@|>|<|=|!|@|%)?(.+)$")


def _matches(row: dict[str, Json], flt: dict[str, Json]) -> bool:
    for key, want in flt.items():
        m = _OPS.match(key)
        assert m is not None
        op, name = m.group(1) or "=", m.group(2)
        if want == "" or want is None:
            continue  # PHP: an empty filter value does not filter
        have = row.get(name)
        if isinstance(want, dict):
            want = list(want.values())
        if op in ("@", "!@") or (op in ("=", "!", "!=") and isinstance(want, list)) or isinstance(have, list):
            values = [str(v) for v in (want if isinstance(want, list) else [want])]
            held = [str(h) for h in have] if isinstance(have, list) else [str(have)]  # multiple fields: any
            if bool(set(held) & set(values)) != (op in ("@", "=")):
                return False
            continue
        if isinstance(want, list):
            continue  # a comparison with an array (e.g. a reference that resolved to a whole page): no-op
        if name == "ID":
            a, b = int(have or 0), int(want)
        else:
            a, b = str(have), str(want)  # type: ignore[assignment]
        ok = {"=": a == b, "!": a != b, "!=": a != b, ">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b,
              "%": str(want).lower() in str(have).lower()}[op]
        if not ok:
            return False
    return True


def parse_php_query(query: str) -> dict[str, Json]:
    """PHP's ``parse_str``: ``filter[>ID]=5&select[0]=ID`` -> nested dicts, numeric keys as lists."""
    root: dict[str, Json] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        head, _, rest = key.partition("[")
        path = [head] + (re.findall(r"([^\[\]]*)\]", "[" + rest) if rest else [])
        node = root
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return _lists(root)


def _lists(node: Json) -> Json:
    if isinstance(node, dict):
        node = {k: _lists(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node) and sorted(int(k) for k in node) == list(range(len(node))):
            return [node[str(i)] for i in range(len(node))]
    return node


_REF = re.compile(r"\$result\[([^\]]+)\]((?:\[[^\]]*\])*)")


def _resolve(value: Json, results: dict[str, Json]) -> Json:
    """References in parsed values. A path that cannot be followed stops at the deepest node found (the
    whole previous page for ``[49][ID]`` on a short page); a command without a result gives nothing."""
    if isinstance(value, dict):
        return {k: _resolve(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, results) for v in value]
    if not isinstance(value, str) or "$result[" not in value:
        return value
    whole = _REF.fullmatch(value)
    if whole:
        return _follow(whole, results)

    def text(m: re.Match[str]) -> str:
        node = _follow(m, results)
        return "" if isinstance(node, list | dict) else str(node)

    return _REF.sub(text, value)


def _follow(m: re.Match[str], results: dict[str, Json]) -> Json:
    if m.group(1) not in results:
        return ""
    node: Json = results[m.group(1)]
    for part in re.findall(r"\[([^\]]*)\]", m.group(2)):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            break  # the deepest node found
    return "" if node is None else node if isinstance(node, list | dict) else str(node)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        redirect = self.server.redirect_to
        if redirect is not None:
            self.server.hits += 1
            self.send_response(302)
            self.send_header("Location", redirect + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        assert self.server.portal is not None
        status, answer = self.server.portal.handle(self.path, raw)
        data = json.dumps(answer, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, portal: FakePortal | None, redirect_to: str | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.portal = portal
        self.redirect_to = redirect_to
        self.hits = 0


class Running:
    """A server thread; ``url`` is its ``http://127.0.0.1:<port>``."""

    def __init__(self, portal: FakePortal | None = None, redirect_to: str | None = None) -> None:
        self.server = _Server(portal, redirect_to)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def webhook(self, portal: FakePortal) -> str:
        return f"{self.url}/rest/{portal.user_id}/{portal.code}/"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
