"""Permissions: roles with rights and access levels, users linked to CRM managers, and their enforcement."""

from esign.access.org import LocalOrgChart, OrgChart
from esign.access.policy import AccessDeniedError, AccessPolicy, Principal
from esign.access.rights import DEFAULT_ROLES, Level, Right
from esign.access.store import AccessStore, RoleInfo, UnknownUserError, UserInfo

__all__ = [
    "DEFAULT_ROLES",
    "AccessDeniedError",
    "AccessPolicy",
    "AccessStore",
    "Level",
    "LocalOrgChart",
    "OrgChart",
    "Principal",
    "Right",
    "RoleInfo",
    "UnknownUserError",
    "UserInfo",
]
