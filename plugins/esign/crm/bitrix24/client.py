""":class:`~esign.crm.base.CrmClient` over Bitrix24's REST API (inbound webhook).

Reading is grouped (:mod:`.reads`): the deal export is counted first and then chains exactly the pages it
needs, 50 per request; everything a range of deals points to is read with list methods over ID arrays —
product rows with ``crm.item.productrow.list`` (``=ownerId`` takes an array), companies and contacts with
``crm.company.list``/``crm.contact.list`` (``@ID``), users with ``user.get`` (``@ID``) — and the commands of
one round share ``batch`` requests whatever their kind. The primary contact is the deal's CONTACT_ID, which
the portal keeps equal to the primary contact binding. Several signers: each deal's contact bindings are read with
``crm.deal.contact.items.get`` (one command per deal, 50 to a request, in the first round), the bound contacts not
read yet with ``crm.contact.list`` over their IDs in the second; a contact's signing role is its
``signer_role_field``. With that setting empty none of this is asked.
Writes (stage moves, timeline comments with files) are single calls: uploads cannot run inside ``batch``.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

import httpx

from esign.crm.base import Department, FetchedDeal, Person, StageInfo
from esign.crm.bitrix24 import reads, records, writes
from esign.crm.bitrix24.errors import Bitrix24AuthError, Bitrix24Error, Bitrix24NotFoundError
from esign.crm.bitrix24.methodtime import MethodBreaker
from esign.crm.bitrix24.people import Directory
from esign.crm.bitrix24.query import command
from esign.crm.bitrix24.ratelimit import LeakyBucket, RequestBudget, Sleep
from esign.crm.bitrix24.settings import Bitrix24Settings
from esign.crm.bitrix24.transport import Bitrix24Transport
from esign.crm.normalize import RawDeal, RawManager, normalize_deal
from esign.errors import CrmError

log = logging.getLogger(__name__)

DEAL_ENTITY_TYPE = 2


class Bitrix24Crm:
    """The Bitrix24 connector. Thread-safe; deal managers and their departments are cached for the life of the
    client, answers about people and the company structure for a few minutes (:class:`.people.Directory`)."""

    name = "bitrix24"

    def __init__(self, settings: Bitrix24Settings, *, transport: Bitrix24Transport | None = None,
                 http: httpx.Client | None = None, sleep: Sleep | None = None,
                 clock: Callable[[], float] | None = None, bucket: RequestBudget | None = None) -> None:
        """``bucket``: the portal's shared request budget (:func:`esign.crm.bitrix24.budget.request_budget`);
        without it (and without an injected clock) this client paces itself alone."""
        self.settings = settings
        breaker = None
        if clock is not None or sleep is not None:
            if bucket is None:
                bucket = LeakyBucket(settings.burst, settings.rate, clock=clock or time.monotonic,
                                     sleep=sleep or time.sleep)
            breaker = MethodBreaker(clock=clock or time.time, sleep=sleep or time.sleep,
                                    max_wait=settings.method_wait_max)
        self.transport = transport or Bitrix24Transport(settings, http=http, bucket=bucket, sleep=sleep,
                                                        breaker=breaker)
        self.directory = Directory(self.transport, attempts=settings.max_attempts, clock=clock or time.monotonic)
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
        results = self._read({f"s{cid}": command("crm.status.list", {
            "filter": {"ENTITY_ID": entity[cid]}, "order": {"SORT": "ASC"}}) for cid in ids}).results
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
        for row in reads.export(self.transport, "crm.deal.list", {"STAGE_ID": stage_id}, ("ID",), limit):
            yield int(str(row["ID"]))

    def fetch_deals(self, stage_id: str, first_id: int, last_id: int) -> list[FetchedDeal]:
        """Two rounds of grouped reads after the deal rows: (1) first product-row pages, companies, contacts,
        users; (2) further product-row pages (from the totals) and the users' departments."""
        if first_id > last_id:
            return []
        span = last_id - first_id + 1  # no more rows than IDs: bounds the pages asked for
        rows = list(reads.export(self.transport, "crm.deal.list",
                                 {"STAGE_ID": stage_id, ">=ID": first_id, "<=ID": last_id}, records.DEAL_SELECT, span))
        if not rows:
            return []
        deal_groups = reads.groups([str(r["ID"]) for r in rows])
        first: dict[str, str] = {f"p{g}_0": _product_rows(ids, 0) for g, ids in enumerate(deal_groups)}
        first.update(self._party_commands(rows))
        role_field = self.settings.signer_role_field
        if role_field:
            first.update({f"b{r['ID']}": command("crm.deal.contact.items.get", {"id": str(r["ID"])}) for r in rows})
        done = self._read(first, tolerate=_binding_gone)
        second = {f"p{g}_{k}": _product_rows(ids, k * reads.PAGE_SIZE) for g, ids in enumerate(deal_groups)
                  for k in range(1, reads.pages_for(done.totals.get(f"p{g}_0", 0)))}
        users = reads.by_id(done.results, lambda name: name.startswith("u"))
        second.update(self._department_commands(users.values()))
        contact_rows = reads.by_id(done.results, lambda name: name.startswith("ct"))
        second.update(self._bound_contact_commands(done.results, contact_rows))
        more = self._read(second, tolerate=self._department_denied)
        contact_rows |= reads.by_id(more.results, lambda name: name.startswith("cx"))
        self._remember_departments(more.results)
        for uid, user in users.items():
            self._users[uid] = records.manager(user, self._departments)
        for uid in {u for r in rows if (u := records.ref_id(r.get("ASSIGNED_BY_ID")))}:
            self._users.setdefault(uid, None)  # inactive or unknown: asked once
        product_rows = [row for name, page in (done.results | more.results).items() if name.startswith("p")
                        for row in (page.get("productRows") or [] if isinstance(page, Mapping) else [])]
        items = records.product_rows_by_deal(product_rows)
        companies = {i: records.company(r, self.settings.company_tax_field)
                     for i, r in reads.by_id(done.results, lambda name: name.startswith("co")).items()}
        contacts = {i: records.contact(r, self.settings.contact_tax_field) for i, r in contact_rows.items()}
        result = []
        for row in rows:
            company_id = records.ref_id(row.get("COMPANY_ID"))
            contact_id = records.ref_id(row.get("CONTACT_ID"))
            manager_id = records.ref_id(row.get("ASSIGNED_BY_ID"))
            result.append(normalize_deal(RawDeal(
                id=int(str(row["ID"])), title=records.opt(row.get("TITLE")), amount=records.opt(row.get("OPPORTUNITY")),
                currency=records.opt(row.get("CURRENCY_ID")), stage_id=records.opt(row.get("STAGE_ID")),
                category_id=records.opt(row.get("CATEGORY_ID")), company_id=company_id, contact_id=contact_id,
                company=companies.get(company_id) if company_id else None,
                contact=contacts.get(contact_id) if contact_id else None,
                manager=self._users.get(manager_id) if manager_id else None,
                items=items.get(str(row["ID"]), []),
                deal_contacts=records.deal_contacts(done.results.get(f"b{row['ID']}"), contact_rows,
                                                    self.settings.contact_tax_field, role_field) if role_field else (),
            )))
        return result

    def get_deal_stage(self, deal_id: int) -> str | None:
        try:
            deal = self.transport.call("crm.deal.get", {"id": deal_id})
        except Bitrix24NotFoundError:
            return None
        return records.opt(deal.get("STAGE_ID")) if isinstance(deal, Mapping) else None

    # -- people -------------------------------------------------------------------------------------
    def people(self, ids: Iterable[str]) -> dict[str, Person]:
        return self.directory.people(ids)

    def people_in(self, department_ids: Collection[int]) -> set[str]:
        return self.directory.people_in(department_ids)

    def departments(self) -> list[Department]:
        return self.directory.departments()

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
    def _read(self, commands: Mapping[str, str],
              tolerate: Callable[[str, Bitrix24Error], bool] | None = None) -> reads.Answers:
        """Run read commands packed 50 per request; an error not tolerated fails the whole read (a batch
        task fails whole and is retried)."""
        answers = reads.run(self.transport, commands, attempts=self.settings.max_attempts)
        for name, error in answers.errors.items():
            if tolerate is None or not tolerate(name, error):
                raise error
        return answers

    def _party_commands(self, rows: Iterable[Mapping[str, Any]]) -> dict[str, str]:
        """Companies, contacts and not yet known users of these deals, 50 IDs per list command."""
        rows = list(rows)
        company_ids = [c for r in rows if (c := records.ref_id(r.get("COMPANY_ID")))]
        contact_ids = [c for r in rows if (c := records.ref_id(r.get("CONTACT_ID")))]
        user_ids = [u for r in rows if (u := records.ref_id(r.get("ASSIGNED_BY_ID"))) and u not in self._users]
        commands: dict[str, str] = {}
        for g, ids in enumerate(reads.groups(company_ids)):
            commands[f"co{g}"] = command("crm.company.list", {
                "filter": {"@ID": ids}, "select": records.company_select(self.settings.company_tax_field)})
        for g, ids in enumerate(reads.groups(contact_ids)):
            commands[f"ct{g}"] = self._contact_list(ids)
        for g, ids in enumerate(reads.groups(user_ids)):
            commands[f"u{g}"] = command("user.get", {"FILTER": {"@ID": ids}})
        return commands

    def _contact_list(self, ids: Sequence[str]) -> str:
        return command("crm.contact.list", {"filter": {"@ID": list(ids)}, "select": records.contact_select(
            self.settings.contact_tax_field, self.settings.signer_role_field)})

    def _bound_contact_commands(self, results: Mapping[str, Any], known: Mapping[str, Any]) -> dict[str, str]:
        """The contacts bound to the deals (``b<deal>`` answers) not read with the deals' own: 50 IDs a command."""
        bound = {contact for name, rows in results.items() if name.startswith("b") and isinstance(rows, list)
                 for row in rows if isinstance(row, Mapping)
                 and (contact := records.ref_id(row.get("CONTACT_ID"))) is not None and contact not in known}
        return {f"cx{g}": self._contact_list(ids) for g, ids in enumerate(reads.groups(sorted(bound)))}

    def _department_commands(self, users: Iterable[Mapping[str, Any]]) -> dict[str, str]:
        if self._departments_denied:
            return {}
        wanted = {str(d) for u in users if isinstance(u.get("UF_DEPARTMENT"), list) for d in u["UF_DEPARTMENT"]}
        return {f"d{i}": command("department.get", {"ID": i})
                for i in sorted(wanted - set(self._departments), key=_int)}

    def _department_denied(self, name: str, error: Bitrix24Error) -> bool:
        """Departments are optional: without the "department" scope their names stay empty."""
        if not name.startswith("d") or not isinstance(error, Bitrix24AuthError | Bitrix24NotFoundError):
            return False
        if isinstance(error, Bitrix24AuthError) and not self._departments_denied:
            log.warning("Bitrix24: departments not readable (%s); managers' departments stay empty", error)
            self._departments_denied = True
        return True

    def _remember_departments(self, results: Mapping[str, Any]) -> None:
        for name, rows in results.items():
            if name.startswith("d") and isinstance(rows, list):
                for row in rows:
                    if isinstance(row, Mapping):
                        self._departments[str(row.get("ID"))] = str(row.get("NAME") or "")


def _binding_gone(name: str, error: Bitrix24Error) -> bool:
    """A deal deleted between its listing and the read of its contacts: it has none (it is left out anyway)."""
    return name.startswith("b") and isinstance(error, Bitrix24NotFoundError)


def _product_rows(deal_ids: Sequence[str], start: int) -> str:
    """One page of the product rows of up to 50 deals (``=ownerId`` takes an array)."""
    return command("crm.item.productrow.list", {
        "filter": {"=ownerType": "D", "=ownerId": list(deal_ids)}, "order": {"id": "asc"}, "start": start})


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
