"""Who the CRM's responsible managers are, by name: the register's only question to the CRM about people.

Kept in one function so that the source can change in one place: the CRM protocol has no people lookup yet, so
the embedded CRM's tables are read here (as :mod:`esign.access.org` reads its department tree). A CRM without
a lookup gives no names, and the register then shows the manager's CRM ID.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from esign.crm.local_schema import crm_managers
from esign.pipeline.services import Services


def manager_names(services: Services, manager_ids: Iterable[str | None]) -> dict[str, str]:
    """Names by manager ID for the IDs the CRM knows (the others are left out)."""
    wanted = sorted({int(m) for m in manager_ids if m and m.isdigit()})
    if not wanted or services.config.crm != "local":
        return {}
    found: dict[str, str] = {}
    with services.ws.engine.connect() as conn:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            query = select(crm_managers.c.id, crm_managers.c.name).where(crm_managers.c.id.in_(chunk))
            found.update({str(r[0]): str(r[1]) for r in conn.execute(query) if r[1]})
    return found
