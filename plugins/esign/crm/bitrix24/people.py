"""People and the company structure from Bitrix24: ``user.get`` and ``department.get``.

Why here and not in the callers: rules (manager e-mails), approvals and permissions (departments and their
tree) and the register (names) ask the CRM through :class:`~esign.crm.base.CrmClient`, so with Bitrix24 they
see Bitrix24's people, not the embedded CRM's tables. The structure is cached for a few minutes: permission
checks ask for it often, and it changes rarely.
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

STRUCTURE_TTL = 300.0  # seconds a read of the company structure is reused


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

    def people(self, ids: Iterable[str]) -> dict[str, Person]:
        """Users by ID, 50 per ``user.get`` command (``FILTER: {"@ID": [...]}``), all in as few requests."""
        wanted = [i for i in {str(i).strip() for i in ids if i} if i.isdigit()]
        commands = {f"u{g}": command("user.get", {"FILTER": {"@ID": group}})
                    for g, group in enumerate(reads.groups(wanted))}
        answers = reads.run(self.transport, commands, attempts=self.attempts)
        for error in answers.errors.values():
            raise error
        return {i: person(row) for i, row in reads.by_id(answers.results, lambda _name: True).items()}

    def people_in(self, department_ids: Collection[int]) -> set[str]:
        """Users of these departments (``FILTER: {"UF_DEPARTMENT": [...]}``), every page."""
        if not department_ids:
            return set()
        rows = reads.all_pages(self.transport, "user.get", {"FILTER": {"UF_DEPARTMENT": sorted(department_ids)}},
                               attempts=self.attempts)
        return {str(r.get("ID")) for r in rows if isinstance(r, Mapping)}

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
