"""Who works where: the CRM's managers and their department tree, for the department levels.

The CRM protocol has no departments, so this is a separate small protocol. The embedded CRM's tables
(``crm_managers.department_id``, ``crm_departments.parent_id``) implement it; a Bitrix24 implementation
would read ``department.get`` and ``user.get``.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Engine, select

from esign.crm.local_schema import crm_departments, crm_managers


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


class LocalOrgChart:
    """The embedded CRM's org chart, read fresh on every call (it is small, and people move)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def department_of(self, manager_id: str) -> int | None:
        if not manager_id.isdigit():
            return None
        with self.engine.connect() as conn:
            value = conn.execute(select(crm_managers.c.department_id)
                                 .where(crm_managers.c.id == int(manager_id))).scalar()
        return None if value is None else int(value)

    def managers_in(self, departments: set[int]) -> set[str]:
        if not departments:
            return set()
        with self.engine.connect() as conn:
            rows = conn.execute(select(crm_managers.c.id).where(crm_managers.c.department_id.in_(sorted(departments))))
            return {str(r[0]) for r in rows}

    def subtree(self, department_id: int) -> set[int]:
        with self.engine.connect() as conn:
            edges = [(int(r[0]), r[1]) for r in conn.execute(select(crm_departments.c.id, crm_departments.c.parent_id))]
        children: dict[int, list[int]] = {}
        for child, parent in edges:
            if parent is not None:
                children.setdefault(int(parent), []).append(child)
        found, todo = set(), [department_id]
        while todo:  # a cycle in bad CRM data cannot loop forever: each department is visited once
            current = todo.pop()
            if current in found:
                continue
            found.add(current)
            todo.extend(children.get(current, ()))
        return found
