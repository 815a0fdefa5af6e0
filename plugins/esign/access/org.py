"""Who works where: the CRM's people and their department tree, for the department levels.

Asked of the CRM through :class:`~esign.crm.base.CrmClient` (``people``, ``people_in``, ``departments``), so
the embedded CRM and Bitrix24 (``user.get``, ``department.get``) answer the same questions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import Engine

from esign.crm.base import CrmClient
from esign.errors import CrmError

log = logging.getLogger(__name__)


class OrgChart(Protocol):
    def department_of(self, manager_id: str) -> int | None:
        """The manager's department, or None (unknown manager, no department)."""
        ...

    def managers_in(self, departments: set[int]) -> set[str]:
        """IDs of the managers of those departments."""
        ...

    def subtree(self, department_id: int) -> set[int]:
        """The department and every department below it."""
        ...


class CrmOrgChart:
    """The org chart of a CRM. ``crm`` may be a callable, so the connector is only opened when first asked."""

    def __init__(self, crm: CrmClient | Callable[[], CrmClient]) -> None:
        self._source = crm

    @property
    def crm(self) -> CrmClient:
        source = self._source
        return source if isinstance(source, CrmClient) else source()

    def department_of(self, manager_id: str) -> int | None:
        if not manager_id.isdigit():
            return None
        person = self.crm.people([manager_id]).get(manager_id)
        return person.department_ids[0] if person and person.department_ids else None

    def managers_in(self, departments: set[int]) -> set[str]:
        return self.crm.people_in(departments) if departments else set()

    def subtree(self, department_id: int) -> set[int]:
        try:
            edges = [(d.id, d.parent_id) for d in self.crm.departments()]
        except CrmError as exc:  # unreadable structure: the department alone (fewer rights, never more)
            log.warning("company structure not readable (%s): department %s without sub-departments",
                        exc, department_id)
            return {department_id}
        children: dict[int, list[int]] = {}
        for child, parent in edges:
            if parent is not None:
                children.setdefault(parent, []).append(child)
        found, todo = set(), [department_id]
        while todo:  # a cycle in bad CRM data cannot loop forever: each department is visited once
            current = todo.pop()
            if current in found:
                continue
            found.add(current)
            todo.extend(children.get(current, ()))
        return found


class LocalOrgChart(CrmOrgChart):
    """The embedded CRM's org chart, read fresh on every call (it is small, and people move)."""

    def __init__(self, engine: Engine) -> None:
        from esign.crm.local import LocalCrm

        super().__init__(LocalCrm(engine))
