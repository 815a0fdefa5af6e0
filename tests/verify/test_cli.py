"""``esign verify``: the exit code says the verdict, the human output is pt-BR, the JSON keeps machine codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from esign.cli import main
from esign.composition import reset
from esign.config import Settings


@pytest.fixture
def cli_env(core_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ESIGN_HOME", str(core_settings.workdir))
    monkeypatch.chdir(core_settings.templates_dir.parent)
    reset()
    yield
    reset()


def test_exit_codes_tell_the_verdict(cli_env: None, core_settings: Settings, completed: tuple[str, Path],
                                     tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc_id, path = completed
    company_signed = core_settings.workdir / "documents" / "company-signed" / f"{doc_id}.pdf"
    altered = tmp_path / "altered.pdf"
    altered.write_bytes(path.read_bytes() + b"% appended\n")
    stranger = tmp_path / "stranger.pdf"
    stranger.write_bytes(b"not a pdf at all")
    assert main(["verify", str(path)]) == 0
    assert main(["verify", str(altered)]) == 1
    assert main(["verify", str(company_signed)]) == 3
    assert main(["verify", str(stranger)]) == 4
    assert main(["verify", str(tmp_path / "missing.pdf")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["verify", str(path), "--offline"]) == 0
    assert main(["verify", str(company_signed), "--offline"]) == 3


def test_human_output_is_portuguese(cli_env: None, completed: tuple[str, Path],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    doc_id, path = completed
    assert main(["verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("DOCUMENTO AUTÊNTICO: ")
    assert f"documento: {doc_id}" in out and "situação atual: concluído" in out
    assert "selado em (hora confiável): " in out and "(UTC-03:00)" in out
    assert "assinatura válida" in out and "certificado (nenhuma alteração permitida): sim" in out
    assert "o documento concluído, assinado por todas as partes e selado" in out


def test_offline_output_says_what_was_not_checked(cli_env: None, core_settings: Settings,
                                                  completed: tuple[str, Path],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    doc_id, _ = completed
    company_signed = core_settings.workdir / "documents" / "company-signed" / f"{doc_id}.pdf"
    assert main(["verify", str(company_signed), "--offline"]) == 3
    out = capsys.readouterr().out
    assert out.startswith("VERSÃO INTERMEDIÁRIA: ")
    assert "versão intermediária: assinada pela empresa" in out
    assert "não foi possível conferir se esta é a última versão emitida" in out
    assert "(offline: o registro não foi consultado)" in out


def test_english_on_request(cli_env: None, completed: tuple[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, path = completed
    assert main(["verify", str(path), "--lang", "en"]) == 0
    assert capsys.readouterr().out.startswith("AUTHENTIC DOCUMENT: ")


def test_json_keeps_machine_codes(cli_env: None, completed: tuple[str, Path], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    doc_id, path = completed
    assert main(["verify", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "authentic" and out["document_id"] == doc_id and out["version"] == "final"
    assert out["reasons"] == [{"code": "issued_final", "params": {},
                               "message": "the completed document, signed by every party and sealed"}]
    seal = out["signatures"][0]
    assert seal["certified"] and seal["ok"] and seal["timestamp"] == out["trusted_time"]
    assert {"status", "document_id", "sha256", "version", "stage", "reasons", "signatures", "offline"} <= set(out)
    appended = tmp_path / "appended.pdf"
    appended.write_bytes(path.read_bytes() + b"junk\n")
    assert main(["verify", str(appended), "--json", "--offline"]) == 1
    codes = [r["code"] for r in json.loads(capsys.readouterr().out)["reasons"]]
    assert codes == ["bytes_after_last_revision", "offline_no_ledger"]
