"""Who may do what to which document: a principal's levels, resolved against the deal's responsible manager."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from esign.access.org import OrgChart
from esign.access.rights import Level, Right
from esign.errors import EsignError


class AccessDeniedError(EsignError):
    """The acting person lacks the right (or the level) for this action; ``right`` names it when one is known,
    so an edge can tell the person in their language which right is missing."""

    def __init__(self, message: str, right: Right | None = None) -> None:
        super().__init__(message)
        self.right = right


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated person with the widest level of each right over all their roles."""

    login: str
    name: str = ""
    manager_id: str | None = None
    roles: tuple[str, ...] = ()
    levels: Mapping[Right, Level] = field(default_factory=dict)

    def level(self, right: Right) -> Level:
        return self.levels.get(right, Level.NONE)

    @property
    def label(self) -> str:
        """How the ledger names this person in events: ``Name (login)``."""
        return f"{self.name} ({self.login})" if self.name else self.login


class AccessPolicy:
    """Turns a level into the set of responsible managers it reaches, through the org chart."""

    def __init__(self, org: OrgChart) -> None:
        self.org = org

    def scope(self, principal: Principal, right: Right) -> frozenset[str] | None:
        """Manager IDs whose deals ``right`` reaches; None means every deal (level ``all``)."""
        level = principal.level(right)
        if level is Level.ALL:
            return None
        if level is Level.NONE or not principal.manager_id:
            return frozenset()
        own = {principal.manager_id}
        if level is Level.OWN:
            return frozenset(own)
        department = self.org.department_of(principal.manager_id)
        if department is None:
            return frozenset(own)
        departments = {department} if level is Level.DEPARTMENT else self.org.subtree(department)
        return frozenset(own | self.org.managers_in(departments))

    def allows(self, principal: Principal, right: Right, manager_id: str | None) -> bool:
        """May ``principal`` use ``right`` on a document whose deal ``manager_id`` is responsible for."""
        scope = self.scope(principal, right)
        return scope is None or (manager_id is not None and manager_id in scope)

    def allows_all(self, principal: Principal, right: Right, manager_ids: Iterable[str | None]) -> bool:
        scope = self.scope(principal, right)
        return scope is None or all(m is not None and m in scope for m in manager_ids)

    def require(self, principal: Principal, right: Right, manager_id: str | None, what: str = "") -> None:
        if not self.allows(principal, right, manager_id):
            target = f" on {what}" if what else ""
            raise AccessDeniedError(f"{principal.login} lacks the right {right.value}{target}", right)
