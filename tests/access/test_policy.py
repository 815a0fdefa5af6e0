"""Levels resolved through the org chart: own, department, sub-departments, all; the widest role wins."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from esign.access import AccessDeniedError, AccessPolicy, Level, LocalOrgChart, Principal, Right
from esign.access.rights import parse_right
from esign.crm.local_schema import crm_departments
from esign.errors import ConfigError
from tests.access.conftest import Org


def policy(engine: Engine) -> AccessPolicy:
    return AccessPolicy(LocalOrgChart(engine))


def test_employee_reaches_only_own_deals(engine: Engine, org: Org) -> None:
    ana = org.store.principal("ana")
    p = policy(engine)
    assert p.scope(ana, Right.DOCUMENTS_VIEW) == {"1"}
    assert p.allows(ana, Right.DOCUMENTS_CANCEL, "1")
    for other in ("2", "3", "4", "5", None):
        assert not p.allows(ana, Right.DOCUMENTS_VIEW, other)
        assert not p.allows(ana, Right.DOCUMENTS_RESEND, other)


def test_employee_has_no_company_signature_reports_or_settings(engine: Engine, org: Org) -> None:
    ana = org.store.principal("ana")
    p = policy(engine)
    for right in (Right.COMPANY_SIGN, Right.REPORTS_VIEW, Right.SETTINGS_MANAGE, Right.TEMPLATES_MANAGE,
                  Right.DOCUMENTS_DELETE):
        assert ana.level(right) is Level.NONE
        assert not p.allows(ana, right, "1")
        assert p.scope(ana, right) == frozenset()


def test_supervisor_reaches_department_and_sub_departments_not_siblings(engine: Engine, org: Org) -> None:
    bruno = org.store.principal("bruno")
    p = policy(engine)
    assert p.scope(bruno, Right.DOCUMENTS_VIEW) == {"1", "2", "3"}
    assert not p.allows(bruno, Right.DOCUMENTS_CANCEL, "4")  # Support
    assert not p.allows(bruno, Right.DOCUMENTS_CANCEL, "5")  # the parent department
    assert not p.allows(bruno, Right.COMPANY_SIGN, "2")


def test_department_level_excludes_sub_departments(engine: Engine, org: Org) -> None:
    bruno = Principal("b", manager_id="2", levels={Right.DOCUMENTS_VIEW: Level.DEPARTMENT})
    assert policy(engine).scope(bruno, Right.DOCUMENTS_VIEW) == {"1", "2"}


def test_all_level_reaches_everything_including_no_manager(engine: Engine, org: Org) -> None:
    maria = org.store.principal("maria")
    p = policy(engine)
    assert p.scope(maria, Right.COMPANY_SIGN) is None
    assert p.allows(maria, Right.COMPANY_SIGN, None)
    assert p.allows_all(maria, Right.COMPANY_SIGN, ["1", "4", None])


def test_user_without_manager_link_reaches_nothing_below_all(engine: Engine) -> None:
    nobody = Principal("x", levels={Right.DOCUMENTS_VIEW: Level.SUBDEPARTMENTS})
    assert policy(engine).scope(nobody, Right.DOCUMENTS_VIEW) == frozenset()


def test_manager_without_department_reaches_own_only(engine: Engine, org: Org) -> None:
    lone = Principal("x", manager_id="99", levels={Right.DOCUMENTS_VIEW: Level.SUBDEPARTMENTS})
    assert policy(engine).scope(lone, Right.DOCUMENTS_VIEW) == {"99"}
    odd = Principal("y", manager_id="abc", levels={Right.DOCUMENTS_VIEW: Level.DEPARTMENT})
    assert policy(engine).scope(odd, Right.DOCUMENTS_VIEW) == {"abc"}


def test_widest_role_wins(engine: Engine, org: Org) -> None:
    org.store.grant("ana", "Analyst")
    ana = org.store.principal("ana")
    assert ana.level(Right.DOCUMENTS_VIEW) is Level.ALL  # Analyst
    assert ana.level(Right.DOCUMENTS_CANCEL) is Level.OWN  # Employee only
    assert policy(engine).allows(ana, Right.DOCUMENTS_VIEW, "4")
    assert not policy(engine).allows(ana, Right.DOCUMENTS_CANCEL, "4")


def test_require_names_the_right(engine: Engine, org: Org) -> None:
    with pytest.raises(AccessDeniedError, match=r"ana lacks the right documents.cancel on DOC-1"):
        policy(engine).require(org.store.principal("ana"), Right.DOCUMENTS_CANCEL, "4", "DOC-1")
    policy(engine).require(org.store.principal("ana"), Right.DOCUMENTS_CANCEL, "1")


def test_department_cycle_in_crm_data_terminates(engine: Engine, org: Org) -> None:
    with engine.begin() as conn:
        conn.execute(crm_departments.update().where(crm_departments.c.id == 1).values(parent_id=3))
    assert LocalOrgChart(engine).subtree(2) == {1, 2, 3, 4}


def test_levels_and_rights_parse_with_clear_errors() -> None:
    assert Level.parse("own") is Level.OWN
    assert Level.parse("sub-departments") is Level.SUBDEPARTMENTS
    assert Level.parse("own + department") is Level.DEPARTMENT
    assert Level.parse("All") is Level.ALL
    with pytest.raises(ConfigError, match="unknown access level 'most'"):
        Level.parse("most")
    assert parse_right("company.sign") is Right.COMPANY_SIGN
    with pytest.raises(ConfigError, match=r"unknown right 'documents\.fly'"):
        parse_right("documents.fly")
