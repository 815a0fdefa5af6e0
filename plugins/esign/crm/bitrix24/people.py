"""People and the company structure from Bitrix24: ``user.get`` and ``department.get``.

Why here and not in the callers: rules (manager e-mails), approvals and permissions (departments and their
tree) and the register (names) ask the CRM through :class:`~esign.crm.base.CrmClient`, so with Bitrix24 they
see Bitrix24's people, not the embedded CRM's tables. Answers are reused for a few minutes: permission checks
ask on every page of the register, and people and departments change rarely.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from esign.crm.base import Department, Person
from esign.crm.bitrix24 import reads, records
from esign.crm.bitrix24.query import command
from esign.crm.bitrix24.transport import Bitrix24Transport

STRUCTURE_TTL = 300.0  # seconds an answer about people or the company structure is reused


def person(row: Mapping[str, Any]) -> Person:
    depts = row.get("UF_DEPARTMENT")
    ids = tuple(int(str(d)) for d in depts if str(d).isdigit()) if isinstance(depts, list) else ()
    return Person(id=str(row.get("ID")), name=records.full_name(row, "NAME", "LAST_NAME") or "",
                  email=records.opt(row.get("EMAIL")) or None, department_ids=ids)


def department(row: Mapping[str, Any]) -> Department:
    parent = records.ref_id(row.get("PARENT"))
    return Department(id=int(str(row.get("ID"))), name=str(row.get("NAME") or ""),
                      parent_id=int(parent) if parent and parent.isdigit() else None,
                      head_id=records.ref_id(row.get("UF_HEAD")))


class Directory:
    """Thread-safe reads of users and departments through one transport."""

    def __init__(self, transport: Bitrix24Transport, *, attempts: int = 5,
                 clock: Callable[[], float] = time.monotonic, ttl: float = STRUCTURE_TTL) -> None:
        self.transport = transport
        self.attempts = attempts
        self._clock = clock
        self.ttl = ttl
        self._lock = threading.Lock()
        self._structure: tuple[float, list[Department]] | None = None
        self._people: dict[str, tuple[float, Person | None]] = {}
        self._members: dict[frozenset[int], tuple[float, set[str]]] = {}

    def people(self, ids: Iterable[str]) -> dict[str, Person]:
        """Users by ID, 50 per ``user.get`` command (``FILTER: {"@ID": [...]}``), all in as few requests;
        the ones asked for within ``ttl`` come from memory (unknown IDs too)."""
        wanted = {i for i in {str(i).strip() for i in ids if i} if i.isdigit()}
        now = self._clock()
        with self._lock:
            known = {i: hit[1] for i in wanted if (hit := self._people.get(i)) and now - hit[0] < self.ttl}
        commands = {f"u{g}": command("user.get", {"FILTER": {"@ID": group}})
                    for g, group in enumerate(reads.groups(sorted(wanted - set(known))))}
        if commands:
            answers = reads.run(self.transport, commands, attempts=self.attempts)
            for error in answers.errors.values():
                raise error
            found = {i: person(row) for i, row in reads.by_id(answers.results, lambda _name: True).items()}
            fetched = {i: found.get(i) for i in wanted - set(known)}
            with self._lock:
                self._people.update({i: (now, p) for i, p in fetched.items()})
            known.update(fetched)
        return {i: p for i, p in sorted(known.items()) if p is not None}

    def people_in(self, department_ids: Collection[int]) -> set[str]:
        """Users of these departments (``FILTER: {"UF_DEPARTMENT": [...]}``), every page; reused for ``ttl``."""
        if not department_ids:
            return set()
        key, now = frozenset(department_ids), self._clock()
        with self._lock:
            hit = self._members.get(key)
            if hit and now - hit[0] < self.ttl:
                return set(hit[1])
        rows = reads.all_pages(self.transport, "user.get", {"FILTER": {"UF_DEPARTMENT": sorted(key)}},
                               attempts=self.attempts)
        members = {str(r.get("ID")) for r in rows if isinstance(r, Mapping)}
        with self._lock:
            self._members[key] = (now, members)
        return set(members)

    def departments(self) -> list[Department]:
        """Every department (``department.get``, paged with ``START``), reused for ``ttl`` seconds."""
        with self._lock:
            cached = self._structure
            if cached is not None and self._clock() - cached[0] < self.ttl:
                return list(cached[1])
        rows = reads.all_pages(self.transport, "department.get", {"sort": "ID", "order": "ASC"},
                               start_key="START", attempts=self.attempts)
        found = [department(r) for r in rows if isinstance(r, Mapping) and str(r.get("ID") or "").isdigit()]
        with self._lock:
            self._structure = (self._clock(), found)
        return list(found)
