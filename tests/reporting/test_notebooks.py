"""The report notebooks: committed clean, executed by papermill on fixture data, numbers equal to SQL.

Kernel start-up costs seconds, so only four notebooks are executed in this module.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from esign.reporting import ReportError, generate_report, generate_run_report, load_metric
from esign.reporting import runner as runner_module
from esign.store import make_engine
from tests.support import PROJECT_DIR

from .conftest import RUN_ID, SINCE, UNTIL

NOTEBOOKS = sorted((PROJECT_DIR / "notebooks").glob("*.ipynb"))


def _figures(page: Path) -> dict[str, str]:
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    return {dd["data-figure"]: dd.get_text() for dd in soup.select("dd[data-figure]")}


def _table(page: Path, table_id: str) -> list[list[str]]:
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    return [[td.get_text() for td in tr.select("td")] for tr in soup.select(f"table#{table_id} tbody tr")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebooks_have_no_outputs_and_one_parameters_cell(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])] == [code[0]]
    assert notebook.metadata.kernelspec.name == "python3"
    assert {p.name for p in NOTEBOOKS} == {"signing_report.ipynb", "run_report.ipynb"}


def test_signing_report_in_a_clean_environment_matches_the_sql(report_url: str, tmp_path: Path) -> None:
    """A bare environment (no venv on PATH, empty HOME, a broken user 'python3' kernel) still renders."""
    home = tmp_path / "home"
    bogus = home / ".local" / "share" / "jupyter" / "kernels" / "python3"
    bogus.mkdir(parents=True)
    (bogus / "kernel.json").write_text(json.dumps({"argv": ["/nonexistent/python", "-m", "ipykernel_launcher",
                                                             "-f", "{connection_file}"], "language": "python",
                                                    "display_name": "broken"}))
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    code = ("import sys; from datetime import datetime; from pathlib import Path; "
            "from esign.reporting import generate_report; "
            f"print(generate_report({report_url!r}, datetime.fromisoformat({SINCE.isoformat()!r}), "
            f"datetime.fromisoformat({UNTIL.isoformat()!r}), Path(sys.argv[1]), 'Fixture report'))")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "reports")], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    page = Path(result.stdout.strip().splitlines()[-1])
    assert page == tmp_path / "reports" / "2026-03-07" / "signing_report.html"
    assert page.with_suffix(".ipynb").is_file()
    text = page.read_text(encoding="utf-8")
    assert "Fixture report" in text and "No activity" not in text and "build_signing_report" not in text
    assert text.count("<img") >= 5 and "Traceback" not in text

    engine = make_engine(report_url)
    try:
        funnel = dict(load_metric(engine, "funnel", SINCE, UNTIL).itertuples(index=False, name=None))
        channels = load_metric(engine, "channels", SINCE, UNTIL)
        pending = load_metric(engine, "pending_requests", SINCE, UNTIL)
    finally:
        engine.dispose()
    figures = _figures(page)
    assert figures["created"] == str(funnel["created"]) == "6"
    assert figures["signed"] == str(funnel["client_signed"]) == "3"
    assert figures["pending"] == str(len(pending)) == "1"
    assert figures["median_s"] == "10.0 h" and figures["p90_s"] == "3.3 days"
    funnel_rows = {row[0]: row[1] for row in _table(page, "funnel")}
    assert funnel_rows["sent"] == str(funnel["sent"]) and funnel_rows["completed"] == str(funnel["completed"])
    sms = next(row for row in _table(page, "channels") if row[0] == "sms")
    assert sms[1] == str(int(channels.loc[channels["channel"] == "sms", "requests"].sum()))
    assert _table(page, "decline-reasons") == [["Preço acima do combinado", "1"]]


def test_run_report(report_url: str, tmp_path: Path) -> None:
    page = generate_run_report(report_url, RUN_ID, tmp_path)
    assert page == tmp_path / "2026-03-02" / "run_report_manual__r1.html"
    figures = _figures(page)
    assert figures["documents"] == "6" and figures["quarantined"] == "1" and figures["seconds"] == "4.0 min"
    steps = {row[0]: row for row in _table(page, "steps")}
    assert steps["prepare"][1] == "prepared 5, quarantined 1" and steps["sign"][5] == "8.0 s"
    assert _table(page, "quarantined") == [["106", "DOC-D6", "quarantined", "counterparty.name: missing"]]


def test_empty_database_says_no_activity(empty_url: str, tmp_path: Path) -> None:
    page = generate_report(empty_url, SINCE, UNTIL, tmp_path)
    text = page.read_text(encoding="utf-8")
    assert "No activity in this period." in text and "Traceback" not in text
    assert _figures(page)["created"] == "0" and _figures(page)["median_s"] == "–"


def test_unknown_run_and_empty_period_fail_before_any_kernel(report_url: str, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no batches recorded for run 'nope'"):
        generate_run_report(report_url, "nope", tmp_path / "out")
    with pytest.raises(ReportError, match="empty period"):
        generate_report(report_url, UNTIL, SINCE, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_failing_notebook_is_a_report_error_and_hides_the_password(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    broken = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('database_url = ""\nsince = ""\nuntil = ""\nreport_title = ""',
                                  metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("raise RuntimeError('boom')")])
    broken.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(broken, notebooks / "signing_report.ipynb")
    monkeypatch.setattr(runner_module, "NOTEBOOK_DIR", notebooks)
    url = "postgresql+psycopg://reporter:s3cret-pw@db.invalid:5432/esign"
    with pytest.raises(ReportError, match=r"signing_report.ipynb failed in cell 3: RuntimeError: boom"):
        generate_report(url, SINCE, UNTIL, tmp_path / "out")
    executed = tmp_path / "out" / "2026-03-07" / "signing_report.ipynb"
    assert executed.is_file() and "s3cret-pw" not in executed.read_text() and "reporter:***@" in executed.read_text()
    assert not executed.with_suffix(".html").exists()
    monkeypatch.setattr(runner_module, "NOTEBOOK_DIR", tmp_path / "missing")
    with pytest.raises(ReportError, match="report notebook not found"):
        generate_report(url, SINCE, UNTIL, tmp_path / "out")
