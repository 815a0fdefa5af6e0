"""Only a user holding the company-signature right over every deal can approve a batch, once configured."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from esign.access import AccessDeniedError, AccessStore
from esign.access.approval import authorize_approval
from esign.pipeline import send
from esign.pipeline.schema import batches
from tests.access.conftest import Org
from tests.pipeline.conftest import Pipe, pipe  # noqa: F401  (fixture)


def test_not_configured_means_no_check(engine: Engine) -> None:
    assert authorize_approval(engine, None, ["1"]) is None
    assert authorize_approval(engine, "anyone", ["1"]) is None


def test_director_approves(engine: Engine, org: Org) -> None:
    assert authorize_approval(engine, "maria", ["1", "4", None]) == "Maria (maria)"


@pytest.mark.parametrize("login", ["ana", "bruno", "davi", "admin"])
def test_nobody_else_approves(engine: Engine, org: Org, login: str) -> None:
    with pytest.raises(AccessDeniedError, match=f"{login} lacks the right company.sign"):
        authorize_approval(engine, login, ["1"])


def test_no_person_unknown_or_deactivated_refused(engine: Engine, org: Org) -> None:
    with pytest.raises(AccessDeniedError, match="auto-approve is refused"):
        authorize_approval(engine, None, ["1"])
    with pytest.raises(AccessDeniedError, match="unknown user 'ghost'"):
        authorize_approval(engine, "ghost", ["1"])
    org.store.set_active("maria", False)
    with pytest.raises(AccessDeniedError, match="deactivated"):
        authorize_approval(engine, "maria", ["1"])


def test_company_sign_at_a_narrower_level_must_cover_every_deal(engine: Engine, org: Org) -> None:
    from esign.access import Level, Right

    org.store.save_role("RegionalSigner", {Right.COMPANY_SIGN: Level.SUBDEPARTMENTS})
    org.store.grant("bruno", "RegionalSigner")
    assert authorize_approval(engine, "bruno", ["1", "3"]) == "Bruno (bruno)"
    with pytest.raises(AccessDeniedError):
        authorize_approval(engine, "bruno", ["1", "4"])


def _approvals(p: Pipe, run_id: str) -> set[str | None]:
    with p.ws.engine.connect() as conn:
        return {r[0] for r in conn.execute(select(batches.c.approved_by).where(batches.c.run_id == run_id))}


def test_approve_run_enforced_in_the_pipeline(pipe: Pipe) -> None:  # noqa: F811
    services = pipe.services
    store = AccessStore(pipe.ws.engine)
    store.ensure_default_roles()
    store.add_user("emp", manager_id="1", roles=("Employee",))
    store.add_user("dir", name="Diretora", roles=("Director",))
    batch_list = send.plan_batches(services, "run-a")
    for batch in batch_list:
        send.prepare_batch(services, batch)
    with pytest.raises(AccessDeniedError):
        send.approve_run(services, "run-a", "auto-approve (configuration)")
    with pytest.raises(AccessDeniedError):
        send.approve_run(services, "run-a", "director:emp", user="emp")
    assert _approvals(pipe, "run-a") == {None}
    with pytest.raises(Exception, match="not approved"):
        send.sign_batch(services, batch_list[0])
    assert send.approve_run(services, "run-a", "director:dir", user="dir") == len(batch_list)
    assert _approvals(pipe, "run-a") == {"Diretora (dir)"}
    assert send.sign_batch(services, batch_list[0]).get("signed", 0) > 0
