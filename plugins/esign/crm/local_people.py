"""People and departments of the embedded CRM (``crm_managers``, ``crm_departments``), read fresh on every call.

Why fresh: the tables are small and people move; the callers (permissions, approvals, rules, the register)
ask a few questions per request.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import Engine, select

from esign.crm.base import Department, Person
from esign.crm.local_schema import crm_departments, crm_managers

_IN_CHUNK = 500  # keys per IN (...): far below every driver's bound-parameter limit


def people(engine: Engine, ids: Iterable[str]) -> dict[str, Person]:
    wanted = sorted({int(i) for i in ids if i and str(i).isdigit()})
    found: dict[str, Person] = {}
    with engine.connect() as conn:
        for start in range(0, len(wanted), _IN_CHUNK):
            query = select(crm_managers).where(crm_managers.c.id.in_(wanted[start:start + _IN_CHUNK]))
            for row in conn.execute(query):
                dept = () if row.department_id is None else (int(row.department_id),)
                found[str(row.id)] = Person(id=str(row.id), name=str(row.name or ""), email=row.email or None,
                                            department_ids=dept)
    return found


def people_in(engine: Engine, department_ids: Collection[int]) -> set[str]:
    if not department_ids:
        return set()
    with engine.connect() as conn:
        rows = conn.execute(select(crm_managers.c.id).where(crm_managers.c.department_id.in_(sorted(department_ids))))
        return {str(r[0]) for r in rows}


def departments(engine: Engine) -> list[Department]:
    with engine.connect() as conn:
        rows = conn.execute(select(crm_departments).order_by(crm_departments.c.id))
        return [Department(id=int(r.id), name=str(r.name), parent_id=None if r.parent_id is None else int(r.parent_id))
                for r in rows]
