"""Who may approve a batch for the company signature: a user with ``company.sign`` over every deal in it.

Enforced only once permissions are configured (at least one user exists), so the embedded demo and a fresh
install keep working; from then on an approval without a known person (auto-approve included) is refused.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine

from esign.access.org import LocalOrgChart, OrgChart
from esign.access.policy import AccessDeniedError, AccessPolicy
from esign.access.rights import Right
from esign.access.store import AccessStore, UnknownUserError


def authorize_approval(engine: Engine, login: str | None, manager_ids: Iterable[str | None],
                       org: OrgChart | None = None) -> str | None:
    """The approver's label for the record, or None when permissions are not configured.

    Raises :class:`AccessDeniedError` for no person, an unknown or deactivated user, or one without the
    company-signature right over every deal's responsible manager.
    """
    store = AccessStore(engine)
    if not store.configured():
        return None
    if not login:
        raise AccessDeniedError("permissions are configured: a batch can only be approved by a user holding "
                                "company.sign (auto-approve is refused)")
    try:
        principal = store.principal(login)
    except UnknownUserError as exc:
        raise AccessDeniedError(f"approval refused: {exc}") from exc
    policy = AccessPolicy(org or LocalOrgChart(engine))
    if not policy.allows_all(principal, Right.COMPANY_SIGN, manager_ids):
        raise AccessDeniedError(f"approval refused: {login} lacks the right company.sign over every deal of the run")
    return principal.label


def login_for_responder(engine: Engine, airflow_user: str | None) -> str | None:
    """The esign user who answered the approval task in Airflow (None when unknown: the approval is refused)."""
    if not airflow_user:
        return None
    return AccessStore(engine).login_for_airflow_user(airflow_user)
