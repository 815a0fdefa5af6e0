"""Permissions: roles with rights and access levels, users linked to CRM managers, and their enforcement."""

from esign.access.lockout import LoginLockedError, LoginLockout
from esign.access.org import CrmOrgChart, LocalOrgChart, OrgChart
from esign.access.policy import AccessDeniedError, AccessPolicy, Principal
from esign.access.rights import DEFAULT_ROLES, RIGHT_LABELS, Level, Right
from esign.access.store import AccessStore, RoleInfo, UnknownUserError, UserInfo

__all__ = [
    "DEFAULT_ROLES",
    "RIGHT_LABELS",
    "AccessDeniedError",
    "AccessPolicy",
    "AccessStore",
    "CrmOrgChart",
    "Level",
    "LocalOrgChart",
    "LoginLockedError",
    "LoginLockout",
    "OrgChart",
    "Principal",
    "Right",
    "RoleInfo",
    "UnknownUserError",
    "UserInfo",
]
