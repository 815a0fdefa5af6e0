"""Write-back (stage moves, comments with files) and stage discovery / name resolution, with the Services wiring."""

from __future__ import annotations

from pathlib import Path

import pytest

from esign.config import Settings
from esign.crm.bitrix24 import Bitrix24Crm, Bitrix24Settings, resolve_stage, resolve_stage_map
from esign.crm.config import CrmConfigError, CrmStageMap
from esign.errors import ConfigError, CrmError
from esign.pipeline.config import PipelineConfig
from esign.pipeline.services import Services
from esign.workspace import Workspace
from tests.crm.bitrix24.fake_portal import FakePortal, Running


def test_move_deal_updates_the_stage_without_a_live_feed_event(portal: FakePortal, client: Bitrix24Crm) -> None:
    portal.add_deal(5)
    client.move_deal(5, "C1:EXECUTING")
    assert portal.deals[5]["STAGE_ID"] == "C1:EXECUTING"
    assert portal.updates == [{"id": 5, "fields": {"STAGE_ID": "C1:EXECUTING"},
                               "params": {"REGISTER_SONET_EVENT": "N"}}]
    assert client.get_deal_stage(5) == "C1:EXECUTING"


def test_move_to_an_unknown_stage_fails_before_any_update(portal: FakePortal, client: Bitrix24Crm) -> None:
    portal.add_deal(5)
    with pytest.raises(CrmError, match="unknown deal stage 'C1:NOPE'"):
        client.move_deal(5, "C1:NOPE")
    assert portal.updates == [] and "crm.deal.update" not in portal.methods()


def test_comment_with_files_round_trips_bytes_and_is_never_batched(portal: FakePortal, client: Bitrix24Crm) -> None:
    portal.add_deal(8)
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF"
    comment_id = client.add_comment(8, "Contrato assinado por todas as partes.",
                                    [("contrato-8.pdf", pdf), ("certificado.pdf", b"\x00\xff")])
    assert comment_id == "1000"
    assert portal.comments == [{"id": 1000, "deal_id": 8, "text": "Contrato assinado por todas as partes.",
                                "files": [("contrato-8.pdf", pdf), ("certificado.pdf", b"\x00\xff")]}]
    assert portal.methods() == ["crm.timeline.comment.add"]
    fields = portal.log[0].body["fields"]
    assert fields["ENTITY_TYPE"] == "deal" and fields["ENTITY_ID"] == 8
    assert not fields["FILES"][0][1].startswith("data:")
    assert client.add_comment(8, "sem anexo") == "1001" and "FILES" not in portal.log[1].body["fields"]
    with pytest.raises(CrmError, match="has no name"):
        client.add_comment(8, "x", [(" ", b"1")])


def test_list_stages_reads_every_pipeline_in_one_batch(portal: FakePortal, client: Bitrix24Crm) -> None:
    stages = client.list_stages()
    assert [s.id for s in stages[:4]] == ["NEW", "PREPARATION", "WON", "LOSE"]
    assert {s.category_id for s in stages[:4]} == {"0"} and {s.category_id for s in stages[4:]} == {"1"}
    assert [s.id for s in stages[4:]] == ["C1:NEW", "C1:UC_REVIEW", "C1:PREPARATION", "C1:EXECUTING", "C1:WON",
                                          "C1:LOSE", "C1:UC_EXPIRED"]
    assert stages[2].semantics == "S" and stages[4].semantics is None and stages[-1].semantics == "F"
    assert portal.methods() == ["crm.category.list", "batch"]
    CrmStageMap().validate(stages)  # the demo stage map fits


def test_stage_names_resolve_to_codes_and_unknown_names_are_named(client: Bitrix24Crm) -> None:
    stages = client.list_stages()
    assert resolve_stage("preparação de contrato", stages).id == "C1:PREPARATION"
    assert resolve_stage("C1:WON", stages).id == "C1:WON"
    with pytest.raises(CrmConfigError, match="several pipelines"):
        resolve_stage("Novo", stages)  # NEW and C1:NEW
    assert resolve_stage("Novo", stages, category_id="1").id == "C1:NEW"
    mapped = resolve_stage_map(CrmStageMap(trigger="Preparação de contrato", awaiting="Aguardando assinatura",
                                           signed="Contrato assinado", declined="Recusado",
                                           expired="Assinatura expirada", quarantined="Dados a corrigir",
                                           failed="C1:UC_REVIEW"), stages)
    assert mapped == CrmStageMap()
    with pytest.raises(CrmConfigError) as info:
        resolve_stage_map(CrmStageMap(trigger="Preparacao", signed="Assinado"), stages)
    assert "trigger: crm stage 'Preparacao'" in str(info.value) and "signed: crm stage 'Assinado'" in str(info.value)


def _services(tmp_path: Path, stages: CrmStageMap, environ: dict[str, str]) -> Services:
    ws = Workspace(Settings.from_env({"ESIGN_HOME": str(tmp_path), **environ}))
    return Services(ws=ws, config=PipelineConfig(crm="bitrix24", stages=stages))


def test_services_build_the_connector_and_resolve_names_at_start(
        tmp_path: Path, portal: FakePortal, server: Running) -> None:
    env = {"ESIGN_BITRIX24_WEBHOOK": server.webhook(portal), "ESIGN_BITRIX24_RATE": "5", "ESIGN_BITRIX24_BURST": "250"}
    services = _services(tmp_path, CrmStageMap(trigger="Preparação de contrato", signed="Contrato assinado"), env)
    assert isinstance(services.crm, Bitrix24Crm)
    assert (services.crm.settings.burst, services.crm.settings.rate) == (250, 5.0)
    assert services.config.stages == CrmStageMap()
    with pytest.raises(CrmConfigError, match="'Assinado'"):
        _services(tmp_path, CrmStageMap(signed="Assinado"), env)
    codes_only = _services(tmp_path, CrmStageMap(), env)  # codes need no call at start
    assert "crm" not in codes_only.__dict__
    with pytest.raises(ConfigError, match="ESIGN_BITRIX24_WEBHOOK"):
        _ = _services(tmp_path, CrmStageMap(), {}).crm


def test_settings_from_an_airflow_connection_and_masking() -> None:
    by_parts = Bitrix24Settings.from_connection(host="acme.bitrix24.com.br", login="12", password="abc123xyz",
                                                extra={"burst": "250", "rate": 5})
    assert by_parts.webhook.base == "https://acme.bitrix24.com.br/rest/12/abc123xyz/"
    assert (by_parts.burst, by_parts.rate) == (250, 5.0)
    by_extra = Bitrix24Settings.from_connection(host=None, login=None, password=None,
                                                extra={"webhook_url": "https://b.example/rest/1/q9w8e7/"})
    assert by_extra.webhook.host == "b.example"
    as_password = Bitrix24Settings.from_connection(host=None, login=None, password="https://c.example/rest/3/zz1/")
    assert as_password.webhook.user_id == "3"
    for text in (repr(by_parts), str(by_parts.webhook), repr(by_parts.webhook)):
        assert "abc123xyz" not in text
    with pytest.raises(ConfigError, match="/rest/1/\\*\\*\\*") as info:
        Bitrix24Settings.from_env({"ESIGN_BITRIX24_WEBHOOK": "https://x.example/rest/1/s3cr3t/crm.deal.list?x=1"})
    assert "s3cr3t" not in str(info.value)
    with pytest.raises(ConfigError, match="ESIGN_BITRIX24_RATE"):
        Bitrix24Settings.from_env({"ESIGN_BITRIX24_WEBHOOK": "https://x.example/rest/1/s3cr3t/",
                                   "ESIGN_BITRIX24_RATE": "fast"})
