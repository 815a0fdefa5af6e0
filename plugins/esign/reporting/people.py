"""The managers' names and departments for a report, asked of the configured CRM (embedded or Bitrix24).

Why asked at report time and not read from the ledger: the ledger keeps only the deal's manager ID, and the
people live in the CRM; with Bitrix24 there is no table to join. The report runner asks once per report for
the period's managers and hands the answer to the notebook as JSON (a notebook parameter), so the kernel never
needs the CRM's credentials. A CRM that cannot be asked never stops the report: the managers are shown by
their ID and the page says why.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from esign.crm.base import CrmClient, Person
from esign.errors import EsignError

log = logging.getLogger(__name__)

#: What the CRM can fail with when asked: its typed errors, configuration, and the network below it.
_UNREACHABLE = (EsignError, OSError)


@dataclass(frozen=True)
class ManagerNames:
    """Per manager ID (text, as the ledger keeps it): the person's name and their main department's name."""

    names: dict[str, str] = field(default_factory=dict)
    departments: dict[str, str] = field(default_factory=dict)
    people_unread: bool = False  # the CRM could not be asked: every manager is shown by ID
    structure_unread: bool = False  # the company structure could not be read: departments unknown

    def to_json(self) -> str:
        return json.dumps({"names": self.names, "departments": self.departments,
                           "people_unread": self.people_unread, "structure_unread": self.structure_unread},
                          ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> ManagerNames:
        data = json.loads(raw)
        return cls(names={str(k): str(v) for k, v in dict(data.get("names") or {}).items()},
                   departments={str(k): str(v) for k, v in dict(data.get("departments") or {}).items()},
                   people_unread=bool(data.get("people_unread")), structure_unread=bool(data.get("structure_unread")))


def ask_crm(crm: CrmClient | Callable[[], CrmClient], manager_ids: Iterable[object]) -> ManagerNames:
    """The names and main departments of ``manager_ids`` (``None``/NaN are skipped) through the CRM protocol.

    ``crm`` may be a factory, called here, so that opening the CRM (reading its settings, its stages) fails
    the same soft way as asking it.
    """
    ids = sorted({str(i) for i in manager_ids if isinstance(i, str | int) and str(i)})
    if not ids:
        return ManagerNames()
    try:
        client = crm() if callable(crm) and not isinstance(crm, CrmClient) else crm
        people: dict[str, Person] = client.people(ids)
    except _UNREACHABLE as exc:
        log.warning("report: the CRM could not be asked for the managers' names (%s: %s); shown by ID",
                    exc.__class__.__name__, exc)
        return ManagerNames(people_unread=True)
    names = {i: p.name for i, p in people.items() if p.name}
    wanted = {p.department_ids[0] for p in people.values() if p.department_ids}
    if not wanted:
        return ManagerNames(names=names)
    try:
        structure = {d.id: d.name for d in client.departments()}
    except _UNREACHABLE as exc:
        log.warning("report: the CRM's company structure could not be read (%s: %s); departments unknown",
                    exc.__class__.__name__, exc)
        return ManagerNames(names=names, structure_unread=True)
    departments = {i: structure[p.department_ids[0]] for i, p in people.items()
                   if p.department_ids and structure.get(p.department_ids[0])}
    return ManagerNames(names=names, departments=departments)
