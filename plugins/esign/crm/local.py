"""The embedded CRM: :class:`CrmClient` over the ``crm_`` tables, for the demo and the tests.

It behaves like Bitrix24 where the pipeline can tell: IDs are read in pages of 50 by keyset
(``ID > last``, as Bitrix24 recommends for large exports), each page in its own short transaction so a
paused iterator holds no lock, and an unknown stage or missing deal is a :class:`CrmError`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, delete, func, select

from esign.crm import local_people
from esign.crm.base import Department, FetchedDeal, Person, StageInfo
from esign.crm.local_schema import (
    crm_companies,
    crm_contacts,
    crm_deal_contacts,
    crm_deal_items,
    crm_deals,
    crm_departments,
    crm_managers,
    crm_stages,
    crm_timeline,
    crm_timeline_files,
)
from esign.crm.normalize import (
    RawCompany,
    RawContact,
    RawDeal,
    RawDealContact,
    RawItem,
    RawManager,
    normalize_deal,
)
from esign.errors import CrmError, CrmNotFoundError

if TYPE_CHECKING:
    from esign.crm.registry import CrmContext

PAGE_SIZE = 50  # Bitrix24's fixed page size for list methods
_IN_CHUNK = 500  # keys per IN (...) lookup: stays far below every driver's bound-parameter limit


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Comment:
    """A timeline comment as stored, with its files (name, content) in attach order."""

    id: str
    deal_id: int
    created_at: datetime
    text: str
    files: tuple[tuple[str, bytes], ...] = ()


class LocalCrm:
    """The embedded CRM. Thread-safe as far as the engine is: every call opens its own connection."""

    name = "local"

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utcnow, page_size: int = PAGE_SIZE) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be positive, got {page_size}")
        self.engine = engine
        self._clock = clock
        self.page_size = page_size

    # -- people -------------------------------------------------------------------------------------
    def people(self, ids: Iterable[str]) -> dict[str, Person]:
        return local_people.people(self.engine, ids)

    def people_in(self, department_ids: Collection[int]) -> set[str]:
        return local_people.people_in(self.engine, department_ids)

    def departments(self) -> list[Department]:
        return local_people.departments(self.engine)

    # -- embedded only (the demo's summary and its clients) -----------------------------------------
    def stage_counts(self) -> dict[str, int]:
        """How many deals each stage holds now (stages without deals are left out)."""
        query = select(crm_deals.c.stage_id, func.count()).group_by(crm_deals.c.stage_id)
        with self.engine.connect() as conn:
            return {str(stage): int(n) for stage, n in conn.execute(query)}

    def contact_name(self, deal_id: int) -> str | None:
        """The name of the deal's contact person (who signs for the client), or None without one."""
        query = (select(crm_contacts.c.name).select_from(crm_deals.join(crm_contacts))
                 .where(crm_deals.c.id == deal_id))
        with self.engine.connect() as conn:
            name = conn.execute(query).scalar()
        return str(name) if name else None

    # -- stages ------------------------------------------------------------------------------------
    def list_stages(self) -> list[StageInfo]:
        query = select(crm_stages).order_by(crm_stages.c.category_id, crm_stages.c.sort, crm_stages.c.id)
        with self.engine.connect() as conn:
            return [StageInfo(id=r.id, name=r.name, category_id=r.category_id, semantics=r.semantics)
                    for r in conn.execute(query)]

    # -- reading deals -----------------------------------------------------------------------------
    def iter_deal_ids(self, stage_id: str, *, limit: int | None = None) -> Iterator[int]:
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        remaining = limit
        last = 0
        while remaining is None or remaining > 0:
            size = self.page_size if remaining is None else min(self.page_size, remaining)
            query = (select(crm_deals.c.id)
                     .where(crm_deals.c.stage_id == stage_id, crm_deals.c.id > last)
                     .order_by(crm_deals.c.id).limit(size))
            with self.engine.connect() as conn:
                page = [int(row[0]) for row in conn.execute(query)]
            yield from page
            if len(page) < size:
                return
            last = page[-1]
            if remaining is not None:
                remaining -= len(page)

    def fetch_deals(self, stage_id: str, first_id: int, last_id: int) -> list[FetchedDeal]:
        if first_id > last_id:
            return []
        with self.engine.connect() as conn:
            deals = conn.execute(
                select(crm_deals)
                .where(crm_deals.c.stage_id == stage_id, crm_deals.c.id >= first_id, crm_deals.c.id <= last_id)
                .order_by(crm_deals.c.id)
            ).all()
            if not deals:
                return []
            companies = _companies(conn, {d.company_id for d in deals if d.company_id is not None})
            links = _deal_contacts(conn, [d.id for d in deals])
            contacts = _contacts(conn, {d.contact_id for d in deals if d.contact_id is not None}
                                 | {cid for rows in links.values() for cid, _, _, _ in rows})
            managers = _managers(conn, {d.manager_id for d in deals if d.manager_id is not None})
            items = _items(conn, [d.id for d in deals])
        return [
            normalize_deal(RawDeal(
                id=int(d.id), title=d.title, amount=d.amount, currency=d.currency, stage_id=d.stage_id,
                category_id=d.category_id,
                company_id=_opt_str(d.company_id), contact_id=_opt_str(d.contact_id),
                company=companies.get(d.company_id) if d.company_id is not None else None,
                contact=contacts.get(d.contact_id) if d.contact_id is not None else None,
                manager=managers.get(d.manager_id) if d.manager_id is not None else None,
                items=items.get(d.id, ()),
                deal_contacts=tuple(RawDealContact(contact_id=str(cid), contact=contacts.get(cid), sort=sort,
                                                   is_primary=primary, role=role)
                                    for cid, sort, primary, role in links.get(d.id, ())),
            ))
            for d in deals
        ]

    def get_deal_stage(self, deal_id: int) -> str | None:
        with self.engine.connect() as conn:
            stage = conn.execute(select(crm_deals.c.stage_id).where(crm_deals.c.id == deal_id)).scalar()
        return None if stage is None else str(stage)

    # -- writing -----------------------------------------------------------------------------------
    def move_deal(self, deal_id: int, stage_id: str) -> None:
        with self.engine.begin() as conn:
            stage = conn.execute(select(crm_stages).where(crm_stages.c.id == stage_id)).first()
            if stage is None:
                raise CrmError(f"unknown deal stage {stage_id!r}")
            category = conn.execute(select(crm_deals.c.category_id).where(crm_deals.c.id == deal_id)).scalar()
            if category is None:
                raise CrmNotFoundError(f"deal {deal_id} not found")
            if category != stage.category_id:
                raise CrmError(f"stage {stage_id!r} belongs to pipeline {stage.category_id}, "
                               f"deal {deal_id} is in pipeline {category}")
            conn.execute(crm_deals.update().where(crm_deals.c.id == deal_id)
                         .values(stage_id=stage_id, updated_at=self._clock()))

    def add_comment(self, deal_id: int, text: str, files: Sequence[tuple[str, bytes]] = ()) -> str:
        for name, content in files:
            if not name.strip():
                raise CrmError(f"a file attached to deal {deal_id} has no name")
            if not isinstance(content, bytes | bytearray):
                raise CrmError(f"file {name!r} attached to deal {deal_id} is not bytes")
        with self.engine.begin() as conn:
            if conn.execute(select(crm_deals.c.id).where(crm_deals.c.id == deal_id)).first() is None:
                raise CrmNotFoundError(f"deal {deal_id} not found")
            comment_id = conn.execute(
                crm_timeline.insert().values(deal_id=deal_id, created_at=self._clock(), text=text)
                .returning(crm_timeline.c.id)
            ).scalar_one()
            if files:
                conn.execute(crm_timeline_files.insert(), [
                    {"comment_id": comment_id, "position": i, "name": name, "content": bytes(content)}
                    for i, (name, content) in enumerate(files)
                ])
        return str(comment_id)

    def move_deals(self, moves: Sequence[tuple[int, str]]) -> list[CrmError | None]:
        return [_refusal(self.move_deal, deal_id, stage_id) for deal_id, stage_id in moves]

    def add_comments(self, comments: Sequence[tuple[int, str]]) -> list[CrmError | None]:
        return [_refusal(self.add_comment, deal_id, text) for deal_id, text in comments]

    def find_comments(self, wanted: Mapping[int, str]) -> set[int]:
        found: set[int] = set()
        with self.engine.connect() as conn:
            for chunk in _chunks(wanted):
                for deal_id, text in conn.execute(select(crm_timeline.c.deal_id, crm_timeline.c.text)
                                                  .where(crm_timeline.c.deal_id.in_(chunk))):
                    if wanted[int(deal_id)] in text:
                        found.add(int(deal_id))
        return found

    # -- embedded-only helpers (demo, tests, CLI) --------------------------------------------------
    def comments(self, deal_id: int) -> list[Comment]:
        """The deal's timeline comments, oldest first, with their files."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(crm_timeline).where(crm_timeline.c.deal_id == deal_id)
                                .order_by(crm_timeline.c.id)).all()
            ids = [r.id for r in rows]
            files: dict[int, list[tuple[str, bytes]]] = {}
            if ids:
                for f in conn.execute(select(crm_timeline_files)
                                      .where(crm_timeline_files.c.comment_id.in_(ids))
                                      .order_by(crm_timeline_files.c.comment_id, crm_timeline_files.c.position)):
                    files.setdefault(f.comment_id, []).append((f.name, bytes(f.content)))
        return [Comment(id=str(r.id), deal_id=int(r.deal_id), created_at=r.created_at, text=r.text,
                        files=tuple(files.get(r.id, ()))) for r in rows]

    def delete_deal(self, deal_id: int) -> bool:
        """Delete a deal with its items and timeline (as a CRM user can). False when it did not exist."""
        with self.engine.begin() as conn:
            comment_ids = select(crm_timeline.c.id).where(crm_timeline.c.deal_id == deal_id)
            conn.execute(delete(crm_timeline_files).where(crm_timeline_files.c.comment_id.in_(comment_ids)))
            conn.execute(delete(crm_timeline).where(crm_timeline.c.deal_id == deal_id))
            conn.execute(delete(crm_deal_items).where(crm_deal_items.c.deal_id == deal_id))
            conn.execute(delete(crm_deal_contacts).where(crm_deal_contacts.c.deal_id == deal_id))
            return conn.execute(delete(crm_deals).where(crm_deals.c.id == deal_id)).rowcount > 0


def _refusal(call: Callable[[int, str], object], deal_id: int, value: str) -> CrmError | None:
    """One write of a batch: None when done, the CRM's refusal otherwise (the others go on)."""
    try:
        call(deal_id, value)
    except CrmError as exc:
        return exc
    return None


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    keys = sorted(ids)
    for start in range(0, len(keys), _IN_CHUNK):
        yield keys[start:start + _IN_CHUNK]


def _companies(conn: Connection, ids: set[int]) -> dict[int, RawCompany]:
    if not ids:
        return {}
    return {r.id: RawCompany(id=str(r.id), name=r.name, tax_id=r.tax_id, address=r.address)
            for chunk in _chunks(ids) for r in conn.execute(select(crm_companies).where(crm_companies.c.id.in_(chunk)))}


def _contacts(conn: Connection, ids: set[int]) -> dict[int, RawContact]:
    if not ids:
        return {}
    return {r.id: RawContact(id=str(r.id), name=r.name, title=r.title, cpf=r.cpf, email=r.email, phone=r.phone)
            for chunk in _chunks(ids) for r in conn.execute(select(crm_contacts).where(crm_contacts.c.id.in_(chunk)))}


def _deal_contacts(conn: Connection, deal_ids: list[int]) -> dict[int, list[tuple[int, int, bool, str | None]]]:
    """Per deal, its bound contacts: (contact ID, sort, primary, role), in the CRM's order (sort, then ID)."""
    result: dict[int, list[tuple[int, int, bool, str | None]]] = {}
    for chunk in _chunks(deal_ids):
        query = (select(crm_deal_contacts).where(crm_deal_contacts.c.deal_id.in_(chunk))
                 .order_by(crm_deal_contacts.c.deal_id, crm_deal_contacts.c.sort, crm_deal_contacts.c.contact_id))
        for r in conn.execute(query):
            result.setdefault(r.deal_id, []).append((int(r.contact_id), int(r.sort), bool(r.is_primary), r.role))
    return result


def _managers(conn: Connection, ids: set[int]) -> dict[int, RawManager]:
    if not ids:
        return {}
    query = (select(crm_managers, crm_departments.c.name.label("department"))
             .select_from(crm_managers.outerjoin(crm_departments,
                                                 crm_managers.c.department_id == crm_departments.c.id)))
    return {r.id: RawManager(id=str(r.id), name=r.name, email=r.email, department=r.department)
            for chunk in _chunks(ids) for r in conn.execute(query.where(crm_managers.c.id.in_(chunk)))}


def _items(conn: Connection, deal_ids: list[int]) -> dict[int, list[RawItem]]:
    result: dict[int, list[RawItem]] = {}
    for chunk in _chunks(deal_ids):
        query = (select(crm_deal_items).where(crm_deal_items.c.deal_id.in_(chunk))
                 .order_by(crm_deal_items.c.deal_id, crm_deal_items.c.position))
        for r in conn.execute(query):
                result.setdefault(r.deal_id, []).append(RawItem(description=r.description, quantity=r.quantity,
                                                            unit_price=r.unit_price))
    return result


def connect(context: CrmContext) -> LocalCrm:
    """The registry's factory (:mod:`esign.crm.registry`): the embedded CRM in the workspace database."""
    if context.engine is None:
        raise CrmError("the embedded CRM lives in the workspace database, which was not given")
    return LocalCrm(context.engine)
