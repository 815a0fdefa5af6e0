""":class:`~esign.crm.base.CrmClient` over Bitrix24's REST API (inbound webhook).

Reading is built around ``batch``: the fast export (``>ID``, ``ORDER ID ASC``, ``start=-1``) chains 50 list
pages inside one request (2,500 deals), and related records (product rows, bound contacts, companies,
contacts, users, departments) are fetched 50 commands per request with each record asked for once.
Writes (stage moves, timeline comments with files) are single calls: uploads cannot run inside ``batch``.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import httpx

from esign.crm.base import FetchedDeal, StageInfo
from esign.crm.bitrix24 import records, writes
from esign.crm.bitrix24.errors import Bitrix24AuthError, Bitrix24Error, Bitrix24NotFoundError
from esign.crm.bitrix24.query import command
from esign.crm.bitrix24.ratelimit import LeakyBucket, RequestBudget, Sleep
from esign.crm.bitrix24.settings import Bitrix24Settings
from esign.crm.bitrix24.transport import MAX_BATCH, Bitrix24Transport
from esign.crm.normalize import RawCompany, RawContact, RawDeal, RawManager, normalize_deal
from esign.errors import CrmError

log = logging.getLogger(__name__)

PAGE_SIZE = 50  # fixed by the portal
DEAL_ENTITY_TYPE = 2


class Bitrix24Crm:
    """The Bitrix24 connector. Thread-safe; users and departments are cached for the life of the client."""

    name = "bitrix24"

    def __init__(self, settings: Bitrix24Settings, *, transport: Bitrix24Transport | None = None,
                 http: httpx.Client | None = None, sleep: Sleep | None = None,
                 clock: Callable[[], float] | None = None, bucket: RequestBudget | None = None) -> None:
        """``bucket``: the portal's shared request budget (:func:`esign.crm.bitrix24.budget.request_budget`);
        without it (and without an injected clock) this client paces itself alone."""
        self.settings = settings
        if bucket is None and (clock is not None or sleep is not None):
            import time

            bucket = LeakyBucket(settings.burst, settings.rate, clock=clock or time.monotonic,
                                 sleep=sleep or time.sleep)
        self.transport = transport or Bitrix24Transport(settings, http=http, bucket=bucket, sleep=sleep)
        self._stages: list[StageInfo] | None = None
        self._users: dict[str, RawManager | None] = {}
        self._departments: dict[str, str] = {}
        self._departments_denied = False

    def __repr__(self) -> str:
        return f"Bitrix24Crm({self.transport.webhook.masked()!r})"

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Bitrix24Crm:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- stages ------------------------------------------------------------------------------------
    def list_stages(self) -> list[StageInfo]:
        """Every pipeline (``crm.category.list``) and its stages (``crm.status.list``, one batch)."""
        answer = self.transport.call("crm.category.list", {"entityTypeId": DEAL_ENTITY_TYPE})
        categories = answer.get("categories", []) if isinstance(answer, Mapping) else []
        ordered = sorted(categories, key=lambda c: (_int(c.get("sort")), _int(c.get("id"))))
        ids = [str(c.get("id")) for c in ordered]
        if "0" not in ids:
            ids.insert(0, "0")  # the default pipeline always exists
        entity = {cid: "DEAL_STAGE" if cid == "0" else f"DEAL_STAGE_{cid}" for cid in ids}
        results = self._batch_get({f"s{cid}": command("crm.status.list", {
            "filter": {"ENTITY_ID": entity[cid]}, "order": {"SORT": "ASC"}}) for cid in ids}, missing_ok=False)
        stages: list[StageInfo] = []
        for cid in ids:
            rows = results.get(f"s{cid}") or []
            for row in sorted(rows, key=lambda r: (_int(r.get("SORT")), str(r.get("STATUS_ID")))):
                stages.append(StageInfo(id=str(row.get("STATUS_ID")), name=str(row.get("NAME") or ""),
                                        category_id=cid, semantics=records.opt(row.get("SEMANTICS")) or None))
        self._stages = stages
        return stages

    # -- reading deals -----------------------------------------------------------------------------
    def iter_deal_ids(self, stage_id: str, *, limit: int | None = None) -> Iterator[int]:
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        for row in self._export({"STAGE_ID": stage_id}, ("ID",), limit):
            yield int(str(row["ID"]))

    def fetch_deals(self, stage_id: str, first_id: int, last_id: int) -> list[FetchedDeal]:
        if first_id > last_id:
            return []
        span = last_id - first_id + 1  # no more rows than IDs: bounds the pages asked for
        rows = list(self._export({"STAGE_ID": stage_id, ">=ID": first_id, "<=ID": last_id}, records.DEAL_SELECT,
                                 span))
        if not rows:
            return []
        details = self._batch_get({f"{kind}{row['ID']}": command(method, {"id": row["ID"]})
                                   for row in rows for kind, method in (("p", "crm.deal.productrows.get"),
                                                                        ("c", "crm.deal.contact.items.get"))})
        alive = [r for r in rows if f"p{r['ID']}" in details and f"c{r['ID']}" in details]
        if len(alive) < len(rows):
            log.info("Bitrix24: %d deal(s) deleted while being read", len(rows) - len(alive))
        contact_of = {str(r["ID"]): records.primary_contact(details[f"c{r['ID']}"], records.ref_id(r.get("CONTACT_ID")))
                      for r in alive}
        companies = self._companies({cid for r in alive if (cid := records.ref_id(r.get("COMPANY_ID")))})
        contacts = self._contacts({cid for cid in contact_of.values() if cid})
        self._managers({uid for r in alive if (uid := records.ref_id(r.get("ASSIGNED_BY_ID")))})
        result = []
        for row in alive:
            company_id = records.ref_id(row.get("COMPANY_ID"))
            contact_id = contact_of[str(row["ID"])]
            manager_id = records.ref_id(row.get("ASSIGNED_BY_ID"))
            result.append(normalize_deal(RawDeal(
                id=int(str(row["ID"])), title=records.opt(row.get("TITLE")), amount=records.opt(row.get("OPPORTUNITY")),
                currency=records.opt(row.get("CURRENCY_ID")), stage_id=records.opt(row.get("STAGE_ID")),
                category_id=records.opt(row.get("CATEGORY_ID")), company_id=company_id, contact_id=contact_id,
                company=companies.get(company_id) if company_id else None,
                contact=contacts.get(contact_id) if contact_id else None,
                manager=self._users.get(manager_id) if manager_id else None,
                items=records.items(details[f"p{row['ID']}"]),
            )))
        return result

    def get_deal_stage(self, deal_id: int) -> str | None:
        try:
            deal = self.transport.call("crm.deal.get", {"id": deal_id})
        except Bitrix24NotFoundError:
            return None
        return records.opt(deal.get("STAGE_ID")) if isinstance(deal, Mapping) else None

    # -- writing -----------------------------------------------------------------------------------
    def move_deal(self, deal_id: int, stage_id: str) -> None:
        """``crm.deal.update`` without a live-feed event; the stage is checked first (the portal would not)."""
        stages = self._stages if self._stages is not None else self.list_stages()
        if stage_id not in {s.id for s in stages}:
            raise CrmError(f"unknown deal stage {stage_id!r}")
        try:
            done = self.transport.call("crm.deal.update", {
                "id": deal_id, "fields": {"STAGE_ID": stage_id}, "params": {"REGISTER_SONET_EVENT": "N"}})
        except Bitrix24NotFoundError as exc:
            raise writes.deal_not_found(deal_id, exc) from None
        if done is not True:
            raise Bitrix24Error(f"Bitrix24 crm.deal.update: deal {deal_id} was not updated ({done!r})",
                                method="crm.deal.update")

    def add_comment(self, deal_id: int, text: str, files: Sequence[tuple[str, bytes]] = ()) -> str:
        """``crm.timeline.comment.add`` with ``FILES: [[name, base64]]``; never retried once sent."""
        for name, content in files:
            if not name.strip():
                raise CrmError(f"a file attached to deal {deal_id} has no name")
            if not isinstance(content, bytes | bytearray):
                raise CrmError(f"file {name!r} attached to deal {deal_id} is not bytes")
        fields: dict[str, Any] = {"ENTITY_ID": deal_id, "ENTITY_TYPE": "deal", "COMMENT": text}
        if files:
            fields["FILES"] = [[name, base64.b64encode(bytes(content)).decode("ascii")] for name, content in files]
        try:
            comment_id = self.transport.call("crm.timeline.comment.add", {"fields": fields}, idempotent=False)
        except Bitrix24NotFoundError as exc:
            raise writes.deal_not_found(deal_id, exc) from None
        return str(comment_id)

    # -- batched writes (the pipeline's write-backs: esign.crm.bitrix24.writes) ------------------------
    def move_deals(self, moves: Sequence[tuple[int, str]]) -> list[CrmError | None]:
        stages = self._stages if self._stages is not None else self.list_stages()
        return writes.move_deals(self.transport, {s.id for s in stages}, moves)

    def add_comments(self, comments: Sequence[tuple[int, str]]) -> list[CrmError | None]:
        return writes.add_comments(self.transport, comments)

    def find_comments(self, wanted: Mapping[int, str]) -> set[int]:
        return writes.find_comments(self.transport, wanted)

    # -- helpers -----------------------------------------------------------------------------------
    def _export(self, base: Mapping[str, Any], select: Sequence[str], limit: int | None = None) -> Iterator[Any]:
        """Rows by ascending ID, up to 50 chained pages per request; stops at the first short page."""
        last: int | None = None
        remaining = limit
        while remaining is None or remaining > 0:
            pages = MAX_BATCH if remaining is None else min(MAX_BATCH, -(-remaining // PAGE_SIZE))
            commands = {}
            for i in range(pages):
                flt = dict(base)
                if i:
                    flt[">ID"] = f"$result[cmd_{i - 1}][{PAGE_SIZE - 1}][ID]"
                elif last is not None:
                    flt[">ID"] = last
                commands[f"cmd_{i}"] = command("crm.deal.list", {
                    "filter": flt, "order": {"ID": "ASC"}, "select": list(select), "start": -1})
            answer = self.transport.batch(commands)
            for i in range(pages):
                name = f"cmd_{i}"
                if name in answer.errors:
                    raise answer.errors[name]
                page = answer.results.get(name) or []
                page = page if isinstance(page, list) else list(page.values())
                for row in page:
                    row_id = int(str(row["ID"]))
                    if last is not None and row_id <= last:
                        continue  # never twice, whatever a misresolved reference returns
                    last = row_id
                    yield row
                    if remaining is not None:
                        remaining -= 1
                        if remaining == 0:
                            return
                if len(page) < PAGE_SIZE:
                    return

    def _batch_get(self, commands: Mapping[str, str], *, missing_ok: bool = True) -> dict[str, Any]:
        """Run read commands 50 per request. Not-found answers are left out (when ``missing_ok``);
        any other per-command error is raised, so a batch task fails whole and is retried."""
        items = list(commands.items())
        results: dict[str, Any] = {}
        for start in range(0, len(items), MAX_BATCH):
            answer = self.transport.batch(dict(items[start:start + MAX_BATCH]))
            for error in answer.errors.values():
                if not (missing_ok and isinstance(error, Bitrix24NotFoundError)):
                    raise error
            results.update(answer.results)
        return results

    def _companies(self, ids: Iterable[str]) -> dict[str, RawCompany]:
        found = self._batch_get({f"co{i}": command("crm.company.get", {"id": i}) for i in sorted(ids, key=_int)})
        return {name[2:]: records.company(row, self.settings.company_tax_field)
                for name, row in found.items() if isinstance(row, Mapping)}

    def _contacts(self, ids: Iterable[str]) -> dict[str, RawContact]:
        found = self._batch_get({f"ct{i}": command("crm.contact.get", {"id": i}) for i in sorted(ids, key=_int)})
        return {name[2:]: records.contact(row, self.settings.contact_tax_field)
                for name, row in found.items() if isinstance(row, Mapping)}

    def _managers(self, ids: Iterable[str]) -> None:
        """Fill the user cache (``user.get``), with department names (``department.get``) when allowed."""
        wanted = sorted((i for i in set(ids) if i not in self._users), key=_int)
        if not wanted:
            return
        found = self._batch_get({f"u{i}": command("user.get", {"filter": {"ID": i}}) for i in wanted})
        users = {i: rows[0] for i in wanted if isinstance(rows := found.get(f"u{i}"), list) and rows}
        self._load_departments({str(d) for u in users.values() for d in (u.get("UF_DEPARTMENT") or [])
                                if isinstance(u.get("UF_DEPARTMENT"), list)})
        for i in wanted:
            self._users[i] = records.manager(users[i], self._departments) if i in users else None

    def _load_departments(self, ids: set[str]) -> None:
        wanted = sorted((i for i in ids if i not in self._departments), key=_int)
        if not wanted or self._departments_denied:
            return
        try:
            found = self._batch_get({f"d{i}": command("department.get", {"ID": i}) for i in wanted})
        except Bitrix24AuthError as exc:  # the webhook lacks the "department" scope: names stay empty
            log.warning("Bitrix24: departments not readable (%s); managers' departments stay empty", exc)
            self._departments_denied = True
            return
        for i in wanted:
            rows = found.get(f"d{i}")
            if isinstance(rows, list) and rows and isinstance(rows[0], Mapping):
                self._departments[i] = str(rows[0].get("NAME") or "")


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
