"""Who the CRM's responsible managers are, by name: the register's only question to the CRM about people.

Asked of the CRM (:meth:`~esign.crm.base.CrmClient.people`), so Bitrix24's users are named as well as the
embedded CRM's. A CRM that cannot be reached gives no names, and the register then shows the manager's CRM ID.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from esign.errors import CrmError, EsignError
from esign.pipeline.services import Services

log = logging.getLogger(__name__)


def manager_names(services: Services, manager_ids: Iterable[str | None]) -> dict[str, str]:
    """Names by manager ID for the IDs the CRM knows (the others are left out)."""
    wanted = sorted({m for m in manager_ids if m and m.isdigit()}, key=int)
    if not wanted:
        return {}
    try:
        people = services.crm.people(wanted)
    except (CrmError, EsignError) as exc:  # a page must not fail because the CRM is slow or down
        log.warning("manager names not available from the CRM (%s)", exc)
        return {}
    return {pid: p.name for pid, p in people.items() if p.name}
