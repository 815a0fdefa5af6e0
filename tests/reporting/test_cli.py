"""``esign report``: options, where reports land, the company's days and language, and a quiet output."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

import esign.reporting
from esign.cli import UsageError
from esign.cli.report_command import register
from esign.config import Settings
from esign.reporting import ReportLocale
from esign.store import init_schema, make_engine
from tests.support import PROJECT_DIR

from .conftest import RUN_ID, populate


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="esign")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    """The report generators replaced by recorders that write an empty page (and a PDF for the signing one)."""
    recorded: list[tuple[object, ...]] = []

    def signing(url: str, since: datetime, until: datetime, out: Path, *, where: ReportLocale,
                crm: object = None) -> Path:
        assert callable(crm)  # the pipeline's CRM, opened only when the report asks it for the managers' names
        recorded.append((url, since, until, out, where))
        page = out / "s.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text("")
        page.with_suffix(".pdf").write_text("")
        return page

    def run(url: str, run_id: str, out: Path, *, where: ReportLocale) -> Path:
        recorded.append((url, run_id, out, where))
        return out / "r.html"

    monkeypatch.setattr(esign.reporting, "generate_report", signing)
    monkeypatch.setattr(esign.reporting, "generate_run_report", run)
    for name in ("ESIGN_HOME", "ESIGN_REPORTS_DIR", "ESIGN_DATABASE_URL", "ESIGN_COMPANY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ESIGN_PROJECT_DIR", str(PROJECT_DIR))
    return recorded


def test_days_are_the_companys_and_the_output_names_the_files(tmp_path: Path, calls: list[tuple[object, ...]],
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ESIGN_HOME", str(tmp_path))
    monkeypatch.setenv("ESIGN_DATABASE_URL", "sqlite:///ledger.db")
    args = _parse(["report", "--since", "2026-03-01", "--until", "2026-03-07", "--run", "manual__r1"])
    assert args.handler(args) == 0
    out = tmp_path / "reports"  # under the working directory
    where = ReportLocale("pt_BR", "America/Sao_Paulo")  # config/company.yaml
    assert calls == [("sqlite:///ledger.db", datetime(2026, 3, 1, 3, tzinfo=UTC), datetime(2026, 3, 8, 3, tzinfo=UTC),
                      out, where), ("sqlite:///ledger.db", "manual__r1", out, where)]
    assert capsys.readouterr().out.splitlines() == [
        "Relatórios publicados:", f"  {out / 's.html'}", f"  {out / 's.pdf'}", f"  {out / 'r.html'}"]


def test_workdir_reports_dir_and_language(tmp_path: Path, calls: list[tuple[object, ...]],
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    args = _parse(["report", "--workdir", str(tmp_path / "home"), "--lang", "es"])
    assert args.handler(args) == 0
    url, _, _, out, where = calls[-1]
    assert url == f"sqlite:///{tmp_path / 'home' / 'esign.db'}" and out == tmp_path / "home" / "reports"
    assert where == ReportLocale("es", "America/Sao_Paulo")
    assert capsys.readouterr().out.splitlines()[0] == "Informes publicados:"
    monkeypatch.setenv("ESIGN_REPORTS_DIR", str(tmp_path / "elsewhere"))
    args = _parse(["report", "--workdir", str(tmp_path / "home")])
    assert args.handler(args) == 0 and calls[-1][3] == tmp_path / "elsewhere"
    args = _parse(["report", "--workdir", str(tmp_path / "home"), "--out", str(tmp_path / "out")])
    assert args.handler(args) == 0 and calls[-1][3] == tmp_path / "out"


def test_reports_land_under_the_working_directory_unless_told_otherwise(tmp_path: Path) -> None:
    home = {"ESIGN_PROJECT_DIR": str(tmp_path / "project"), "ESIGN_HOME": str(tmp_path / "home")}
    assert Settings.from_env(home).reports_dir == tmp_path / "home" / "reports"
    assert Settings.from_env({"ESIGN_PROJECT_DIR": str(tmp_path)}).reports_dir == tmp_path / "var" / "reports"
    told = {**home, "ESIGN_REPORTS_DIR": str(tmp_path / "r")}
    assert Settings.from_env(told).reports_dir == tmp_path / "r"


def test_bad_dates(tmp_path: Path, calls: list[tuple[object, ...]], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parse(["report", "--since", "yesterday"])
    assert "not a date (YYYY-MM-DD): 'yesterday'" in capsys.readouterr().err
    args = _parse(["report", "--since", "2026-03-08", "--until", "2026-03-07", "--workdir", str(tmp_path)])
    with pytest.raises(UsageError, match=r"--since \(2026-03-08\) must not be after --until \(2026-03-07\)"):
        args.handler(args)
    assert calls == []


def test_esign_report_prints_only_where_the_reports_are(tmp_path: Path) -> None:
    """The real command, kernels and Chromium included: its whole output is the list of files, nothing on stderr."""
    home = tmp_path / "home"
    home.mkdir()
    engine = make_engine(f"sqlite:///{home / 'esign.db'}")
    try:
        init_schema(engine)
        populate(engine)
    finally:
        engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ESIGN_", "AIRFLOW"))}
    env["ESIGN_PROJECT_DIR"] = str(PROJECT_DIR)
    result = subprocess.run([sys.executable, "-m", "esign.cli", "report", "--workdir", str(home), "--since",
                             "2026-03-01", "--until", "2026-03-07", "--run", RUN_ID], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr == ""
    day, run_day = home / "reports" / "2026-03-07", home / "reports" / "2026-03-02"
    assert result.stdout.splitlines() == [
        "Relatórios publicados:", f"  {day / 'signing_report.html'}", f"  {day / 'signing_report.pdf'}",
        f"  {run_day / 'run_report_manual__r1.html'}", f"  {run_day / 'run_report_manual__r1.pdf'}"]
    for pdf in (day / "signing_report.pdf", run_day / "run_report_manual__r1.pdf"):
        assert len(PdfReader(pdf).pages) >= 1
