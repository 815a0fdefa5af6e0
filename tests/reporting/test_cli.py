"""``esign report``: options, defaults and errors (the notebooks themselves are tested elsewhere)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import pytest

import esign.reporting
from esign.cli import UsageError
from esign.cli.report_command import register


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="esign")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_report_prints_paths_for_the_chosen_days_and_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[tuple[object, ...]] = []
    monkeypatch.setenv("ESIGN_HOME", str(tmp_path))
    monkeypatch.setenv("ESIGN_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("ESIGN_DATABASE_URL", "sqlite:///ledger.db")
    monkeypatch.setattr(esign.reporting, "generate_report",
                        lambda url, since, until, out: calls.append((url, since, until, out)) or out / "s.html")
    monkeypatch.setattr(esign.reporting, "generate_run_report",
                        lambda url, run, out: calls.append((url, run, out)) or out / "r.html")
    args = _parse(["report", "--since", "2026-03-01", "--until", "2026-03-07", "--run", "manual__r1"])
    assert args.handler(args) == 0
    out = tmp_path / "reports"
    assert calls == [("sqlite:///ledger.db", datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 8, tzinfo=UTC), out),
                     ("sqlite:///ledger.db", "manual__r1", out)]
    assert capsys.readouterr().out.split() == [str(out / "s.html"), str(out / "r.html")]


def test_bad_dates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parse(["report", "--since", "yesterday"])
    assert "not a date (YYYY-MM-DD): 'yesterday'" in capsys.readouterr().err
    monkeypatch.setenv("ESIGN_HOME", str(tmp_path))
    args = _parse(["report", "--since", "2026-03-08", "--until", "2026-03-07", "--out", str(tmp_path)])
    with pytest.raises(UsageError, match=r"--since \(2026-03-08\) must not be after --until \(2026-03-07\)"):
        args.handler(args)
