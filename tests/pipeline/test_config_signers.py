"""The pipeline configuration's ``signers:`` section and the run's ``signing_order``: checked, merged, and turned
into the policy new documents are arranged by."""

from __future__ import annotations

from pathlib import Path

import pytest

from esign.errors import ConfigError
from esign.model import SignerRole, SigningOrder
from esign.pipeline.config import PipelineConfig, SignersConfig, load_pipeline_config
from tests.support import PROJECT_DIR


def test_the_shipped_file_and_the_defaults_agree() -> None:
    config = load_pipeline_config(PROJECT_DIR / "config" / "pipeline.yaml")
    assert config.signers == SignersConfig() == PipelineConfig().signers
    policy = config.signer_policy()
    assert (policy.order, policy.company, policy.optional_roles, policy.run_order) == (
        SigningOrder.SEQUENTIAL, "before", (), None)
    assert config.as_dict()["signers"] == {"order": "sequential", "company": "before", "optional_roles": []}


def test_the_file_the_variable_and_the_run_param_merge(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text("signers:\n  order: parallel\n  optional_roles: [witness]\n", encoding="utf-8")
    config = load_pipeline_config(path, {"signers": {"company": "after"}, "signing_order": "sequential"})
    assert config.signers == SignersConfig(order="parallel", company="after", optional_roles=("witness",))
    policy = config.signer_policy()
    assert policy.order is SigningOrder.PARALLEL and policy.run_order is SigningOrder.SEQUENTIAL
    assert policy.optional_roles == (SignerRole.WITNESS,) and policy.company == "after"
    assert load_pipeline_config(path, {"signing_order": None}).signer_policy().run_order is None


@pytest.mark.parametrize(("overrides", "message"), [
    ({"signers": {"order": "random"}}, "pipeline signers.order: must be one of sequential, parallel"),
    ({"signers": {"company": "middle"}}, "pipeline signers.company: must be one of before, after"),
    ({"signers": {"optional_roles": ["guarantor"]}}, "pipeline signers.optional_roles: must be a list of"),
    ({"signers": {"optional_roles": "witness"}}, "pipeline signers.optional_roles: must be a list of"),
    ({"signers": {"orders": "parallel"}}, "pipeline signers: unknown setting(s) orders"),
    ({"signers": ["parallel"]}, "pipeline signers: must be a mapping"),
    ({"signing_order": "both"}, "pipeline signing_order: must be one of sequential, parallel"),
])
def test_bad_values_name_the_setting(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        PipelineConfig().with_overrides(overrides)
    assert str(info.value).startswith(message)
