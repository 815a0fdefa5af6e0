from __future__ import annotations

import pytest

from esign.crm import CrmConfigError, CrmStageMap, LocalCrm, StageInfo, stage_code
from esign.errors import ConfigError, CrmError


def test_defaults_fit_the_seeded_pipeline(crm: LocalCrm) -> None:
    stage_map = CrmStageMap()
    stage_map.validate(crm.list_stages())
    assert stage_map.trigger == "C1:PREPARATION" and stage_map.awaiting == "C1:EXECUTING"
    assert stage_map.signed == "C1:WON" and stage_map.declined == "C1:LOSE"
    assert stage_map.expired == "C1:UC_EXPIRED" and stage_map.quarantined == "C1:UC_REVIEW"
    semantics = {s.id: s.semantics for s in crm.list_stages()}
    assert semantics[stage_map.signed] == "S"
    assert semantics[stage_map.declined] == "F" and semantics[stage_map.expired] == "F"


def test_stage_codes_per_pipeline() -> None:
    assert stage_code("1", "NEW") == "C1:NEW"
    assert stage_code("12", "WON") == "C12:WON"
    assert stage_code("0", "WON") == "WON"
    assert CrmStageMap.for_category("0").trigger == "PREPARATION"
    assert CrmStageMap.for_category("3").as_dict() == {
        "trigger": "C3:PREPARATION", "awaiting": "C3:EXECUTING", "signed": "C3:WON", "declined": "C3:LOSE",
        "expired": "C3:UC_EXPIRED", "quarantined": "C3:UC_REVIEW", "failed": "C3:UC_REVIEW",
    }


def test_from_mapping_overrides_and_keeps_defaults() -> None:
    stage_map = CrmStageMap.from_mapping({"trigger": " C1:NEW ", "expired": "C1:LOSE"})
    assert stage_map.trigger == "C1:NEW" and stage_map.expired == "C1:LOSE"
    assert stage_map.signed == "C1:WON"
    assert CrmStageMap.from_mapping({}) == CrmStageMap()


def test_from_mapping_rejects_unknown_keys() -> None:
    with pytest.raises(CrmConfigError, match=r"unknown setting.*sigend"):
        CrmStageMap.from_mapping({"sigend": "C1:WON"})


@pytest.mark.parametrize("value", ["", "   ", None, 5])
def test_from_mapping_rejects_empty_or_non_text(value: object) -> None:
    with pytest.raises(CrmConfigError, match="awaiting must be a non-empty stage code"):
        CrmStageMap.from_mapping({"awaiting": value})


def test_validate_names_every_unknown_code(crm: LocalCrm) -> None:
    stage_map = CrmStageMap.from_mapping({"signed": "C1:SIGNED", "expired": "C1:EXPIRED"})
    with pytest.raises(CrmConfigError) as info:
        stage_map.validate(crm.list_stages())
    assert "signed='C1:SIGNED'" in str(info.value) and "expired='C1:EXPIRED'" in str(info.value)
    assert "declined" not in str(info.value)


def test_validate_against_an_empty_crm() -> None:
    with pytest.raises(CrmConfigError, match="trigger='C1:PREPARATION'"):
        CrmStageMap().validate([])


def test_validate_refuses_the_trigger_as_a_destination(crm: LocalCrm) -> None:
    stage_map = CrmStageMap.from_mapping({"quarantined": "C1:PREPARATION"})
    with pytest.raises(CrmConfigError, match="quarantined is the trigger stage"):
        stage_map.validate(crm.list_stages())


def test_validate_refuses_stages_of_another_pipeline(crm: LocalCrm) -> None:
    stages = [*crm.list_stages(), StageInfo("WON", "Ganho", "0", "S")]
    with pytest.raises(CrmConfigError, match=r"not in the trigger's pipeline 1: signed='WON'"):
        CrmStageMap.from_mapping({"signed": "WON"}).validate(stages)


def test_config_error_is_both_crm_and_config_error() -> None:
    with pytest.raises(CrmError):
        CrmStageMap().validate([])
    with pytest.raises(ConfigError):
        CrmStageMap().validate([])
