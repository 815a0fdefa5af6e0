"""An org chart in the embedded CRM tables, the default roles, and one user per role."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from esign.access import AccessStore
from esign.crm.local_schema import crm_departments, crm_managers


@dataclass
class Org:
    """Company (1) > Sales (2) > Sales South (3); Support (4) is a sibling of Sales."""

    store: AccessStore
    ana: str = "1"  # Sales, employee
    bruno: str = "2"  # Sales, supervisor
    carla: str = "3"  # Sales South (sub-department of Sales)
    davi: str = "4"  # Support
    diretora: str = "5"  # Company


def build_org(engine: Engine) -> Org:
    with engine.begin() as conn:
        conn.execute(crm_departments.insert(), [
            {"id": 1, "name": "Empresa", "parent_id": None}, {"id": 2, "name": "Vendas", "parent_id": 1},
            {"id": 3, "name": "Vendas Sul", "parent_id": 2}, {"id": 4, "name": "Suporte", "parent_id": 1},
        ])
        conn.execute(crm_managers.insert(), [
            {"id": 1, "name": "Ana", "email": "ana@acme.test", "department_id": 2},
            {"id": 2, "name": "Bruno", "email": "bruno@acme.test", "department_id": 2},
            {"id": 3, "name": "Carla", "email": "carla@acme.test", "department_id": 3},
            {"id": 4, "name": "Davi", "email": "davi@acme.test", "department_id": 4},
            {"id": 5, "name": "Maria", "email": "maria@acme.test", "department_id": 1},
        ])
    store = AccessStore(engine)
    store.ensure_default_roles()
    store.add_user("ana", name="Ana", manager_id="1", roles=("Employee",), password="senha-da-ana")
    store.add_user("bruno", name="Bruno", manager_id="2", roles=("Supervisor",), password="senha-do-bruno")
    store.add_user("davi", name="Davi", manager_id="4", roles=("Employee",), password="senha-do-davi")
    store.add_user("maria", name="Maria", manager_id="5", roles=("Director",), password="senha-da-maria",
                   airflow_user="maria.airflow")
    store.add_user("admin", name="Admin", roles=("Admin",), password="senha-do-admin")
    return Org(store)


@pytest.fixture
def org(engine: Engine) -> Org:
    return build_org(engine)
