"""``esign crm stages|pull|seed`` in-process, against the fake portal and the embedded CRM."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from esign.cli import crm_command
from esign.crm.bitrix24 import Bitrix24AuthError
from esign.crm.config import CrmConfigError
from tests.crm.bitrix24.conftest import fill
from tests.crm.bitrix24.fake_portal import FakePortal, Running
from tests.support import PROJECT_DIR


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="esign")
    crm_command.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    code: int = args.handler(args)
    return code


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, portal: FakePortal, server: Running) -> None:
    monkeypatch.setenv("ESIGN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ESIGN_PROJECT_DIR", str(PROJECT_DIR))
    monkeypatch.setenv("ESIGN_BITRIX24_WEBHOOK", server.webhook(portal))


@pytest.mark.usefixtures("env")
def test_bitrix24_stages(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("crm", "stages", "--crm", "bitrix24") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 11 and lines[6].split()[:2] == ["C1:PREPARATION", "1"]
    assert lines[6].endswith("Preparação de contrato")
    assert run("crm", "stages", "--crm", "bitrix24", "--json") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[8] == {"id": "C1:WON", "name": "Contrato assinado", "category_id": "1", "semantics": "S"}


@pytest.mark.usefixtures("env")
def test_bitrix24_pull_prints_one_normalised_deal_per_line(
        portal: FakePortal, capsys: pytest.CaptureFixture[str]) -> None:
    ids = fill(portal, 620)
    assert run("crm", "pull", "--crm", "bitrix24", "--stage", "Preparação de contrato", "--limit", "555") == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in records] == ids[:555]
    first = records[0]
    assert first == {
        "id": ids[0], "title": f"Contrato {ids[0]}", "stage": "C1:PREPARATION", "category": "1",
        "amount": "1000.00", "currency": "BRL",
        "company": {"name": "Empresa 5000 Ltda.", "tax_id": "11.222.333/0001-81",
                    "address": "Rua Augusta, 1500, São Paulo, SP"},
        "contact": {"name": "Márcia Souza 0", "title": "Diretora", "email": "marcia0@empresa.example.com",
                    "phone": "+5511987654321"},
        "manager": {"id": "1", "name": "Júlio Monteiro", "email": "julio.monteiro@vendas.example.com",
                    "department": "Vendas SP"},
        "line_items": [], "problems": []}
    assert run("crm", "pull", "--crm", "bitrix24", "--stage", "C1:PREPARATION", "--limit", "2",
               "--format", "table") == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split("\t")[:3] == [str(ids[0]), "C1:PREPARATION", "1000.00 BRL"]


@pytest.mark.usefixtures("env")
def test_bitrix24_pull_with_an_unknown_stage_or_a_bad_webhook(
        portal: FakePortal, server: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CrmConfigError, match="'Assinado'"):
        run("crm", "pull", "--crm", "bitrix24", "--stage", "Assinado")
    monkeypatch.setenv("ESIGN_BITRIX24_WEBHOOK", f"{server.url}/rest/{portal.user_id}/n0tthec0de/")
    with pytest.raises(Bitrix24AuthError) as info:
        run("crm", "stages", "--crm", "bitrix24")
    assert "n0tthec0de" not in str(info.value)


@pytest.mark.usefixtures("env")
def test_local_seed_stages_and_pull(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("crm", "seed", "--deals", "25") == 0
    assert capsys.readouterr().out.startswith("seeded 25 deals (IDs 1..25)")
    assert run("crm", "stages", "--crm", "local") == 0
    assert "C1:PREPARATION" in capsys.readouterr().out
    assert run("crm", "pull", "--crm", "local", "--stage", "C1:PREPARATION", "--limit", "10") == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in records] == list(range(1, 11))
    assert all(r["manager"]["name"] and r["currency"] for r in records)
