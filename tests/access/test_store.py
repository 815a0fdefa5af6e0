"""Roles, users, passwords and tokens in the ledger database."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from esign.access import AccessStore, Level, Right, UnknownUserError
from esign.access.passwords import check_password, hash_password
from esign.access.schema import access_tokens, access_users
from esign.errors import ConfigError
from tests.access.conftest import Org


def test_default_roles_created_once_and_edits_kept(engine: Engine) -> None:
    store = AccessStore(engine)
    assert set(store.ensure_default_roles()) == {"Employee", "Supervisor", "Director", "Admin", "Analyst"}
    store.set_right("Employee", Right.REPORTS_VIEW, Level.OWN)
    assert store.ensure_default_roles() == []
    assert store.role("Employee").rights[Right.REPORTS_VIEW] is Level.OWN


def test_custom_role_saved_changed_and_deleted(engine: Engine, org: Org) -> None:
    org.store.save_role("Juridico", {Right.DOCUMENTS_VIEW: Level.ALL, Right.TEMPLATES_MANAGE: Level.ALL},
                        description="legal team")
    org.store.grant("davi", "Juridico")
    assert org.store.principal("davi").level(Right.TEMPLATES_MANAGE) is Level.ALL
    org.store.set_right("Juridico", Right.TEMPLATES_MANAGE, Level.NONE)
    assert Right.TEMPLATES_MANAGE not in org.store.role("Juridico").rights
    assert org.store.delete_role("Juridico")
    assert "Juridico" not in org.store.user("davi").roles
    assert not org.store.delete_role("Juridico")
    with pytest.raises(ConfigError, match="unknown role 'Juridico'"):
        org.store.role("Juridico")


def test_bad_names_and_unknown_roles_refused(engine: Engine, org: Org) -> None:
    with pytest.raises(ConfigError, match="role 'bad name'"):
        org.store.save_role("bad name", {})
    with pytest.raises(ConfigError, match="unknown role"):
        org.store.add_user("eva", roles=("Chief",))
    with pytest.raises(ConfigError, match="already taken"):
        org.store.add_user("ana")
    with pytest.raises(ConfigError, match="already taken"):
        org.store.add_user("eva", airflow_user="maria.airflow")
    with pytest.raises(ConfigError, match="unknown role"):
        org.store.grant("ana", "Chief")
    with pytest.raises(UnknownUserError):
        org.store.grant("nobody", "Employee")


def test_grant_twice_and_revoke(org: Org) -> None:
    org.store.grant("ana", "Employee")
    assert org.store.user("ana").roles == ("Employee",)
    assert org.store.revoke("ana", "Employee")
    assert not org.store.revoke("ana", "Employee")
    assert org.store.principal("ana").levels == {}


def test_password_login(engine: Engine, org: Org) -> None:
    assert org.store.authenticate_password("ana", "senha-da-ana").login == "ana"
    with pytest.raises(UnknownUserError, match="wrong login or password"):
        org.store.authenticate_password("ana", "senha-errada")
    with pytest.raises(UnknownUserError, match="wrong login or password"):
        org.store.authenticate_password("nobody", "senha-da-ana")
    org.store.set_password("ana", "outra-senha-1")
    assert org.store.authenticate_password("ana", "outra-senha-1").login == "ana"
    with engine.connect() as conn:
        stored = conn.execute(select(access_users.c.password_hash).where(access_users.c.login == "ana")).scalar()
    assert stored.startswith("scrypt$") and "outra-senha-1" not in stored


def test_password_rules_and_malformed_hashes() -> None:
    with pytest.raises(ValueError, match="at least 8"):
        hash_password("curta")
    stored = hash_password("boa-senha-123")
    assert check_password("boa-senha-123", stored)
    assert stored != hash_password("boa-senha-123")  # salted
    for bad in (None, "", "md5$abc", "scrypt$x$8$1$AAAA$AAAA", "garbage"):
        assert not check_password("boa-senha-123", bad)


def test_user_without_password_cannot_log_in(org: Org) -> None:
    org.store.add_user("eva", roles=("Employee",))
    assert not org.store.user("eva").has_password
    with pytest.raises(UnknownUserError):
        org.store.authenticate_password("eva", "qualquer-coisa")


def test_deactivated_user_is_refused_and_loses_their_tokens(org: Org) -> None:
    token = org.store.issue_token("ana")
    org.store.set_active("ana", False)
    with pytest.raises(UnknownUserError, match="deactivated"):
        org.store.authenticate_password("ana", "senha-da-ana")
    with pytest.raises(UnknownUserError, match="unknown API token"):
        org.store.authenticate_token(token)  # revoked, not merely refused while inactive
    org.store.set_active("ana", True)
    with pytest.raises(UnknownUserError, match="unknown API token"):
        org.store.authenticate_token(token)  # reactivating does not bring it back
    assert org.store.authenticate_password("ana", "senha-da-ana").login == "ana"
    with pytest.raises(UnknownUserError):
        org.store.set_active("nobody", True)


def test_tokens_stored_hashed_and_revocable(engine: Engine, org: Org) -> None:
    token = org.store.issue_token("bruno", "script")
    assert org.store.authenticate_token(token).login == "bruno"
    with engine.connect() as conn:
        assert token not in {r[0] for r in conn.execute(select(access_tokens.c.token_sha256))}
    with pytest.raises(UnknownUserError, match="unknown API token"):
        org.store.authenticate_token(token + "x")
    assert org.store.revoke_tokens("bruno") == 1
    with pytest.raises(UnknownUserError):
        org.store.authenticate_token(token)
    with pytest.raises(UnknownUserError):
        org.store.issue_token("nobody")


def test_airflow_user_mapping(org: Org) -> None:
    assert org.store.login_for_airflow_user("maria.airflow") == "maria"
    assert org.store.login_for_airflow_user("bruno") == "bruno"  # same name
    assert org.store.login_for_airflow_user("stranger") is None


def test_configured_once_a_user_exists(engine: Engine) -> None:
    store = AccessStore(engine)
    store.ensure_default_roles()
    assert not store.configured()
    store.add_user("x")
    assert store.configured()
