"""The report notebooks: committed clean, executed by papermill on the seeded ledger, published as HTML and PDF
in the reader's language with numbers equal to the SQL's.

A kernel start costs seconds, so few notebooks run here: the signing report in pt-BR (a bare environment), in
Spanish on an empty ledger and in English on PostgreSQL, and a failing one; ``test_cli`` runs both through
``esign report``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader
from sqlalchemy import Engine

from esign.reporting import ReportError, ReportLocale, generate_report, generate_run_report, load_metric
from esign.reporting import runner as runner_module
from esign.store import make_engine
from tests.support import PROJECT_DIR

from .conftest import RUN_ID, SINCE, UNTIL, ZONE
from .page_text import english_left

NOTEBOOKS = sorted((PROJECT_DIR / "notebooks").glob("*.ipynb"))


def _soup(page: Path) -> BeautifulSoup:
    return BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")


def figures(page: Path) -> dict[str, str]:
    return {dd["data-figure"]: dd.get_text() for dd in _soup(page).select("dd[data-figure]")}


def figure_values(page: Path) -> dict[str, str]:
    return {dd["data-figure"]: dd["data-value"] for dd in _soup(page).select("dd[data-figure]")}


def table(page: Path, table_id: str) -> list[list[str]]:
    return [[td.get_text() for td in tr.select("td")] for tr in _soup(page).select(f"table#{table_id} tbody tr")]


def pdf_text(pdf: Path) -> tuple[int, str]:
    reader = PdfReader(pdf)
    return len(reader.pages), "\n".join(page.extract_text() or "" for page in reader.pages)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebooks_have_no_outputs_and_one_parameters_cell(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])] == [code[0]]
    assert {"language", "timezone", "report_title", "database_url"} <= {
        line.split("=")[0].strip() for line in code[0].source.splitlines()}
    # text in the notebook itself (for whoever opens it) never reaches the published page
    assert all("notebook-only" in c.metadata.get("tags", []) for c in notebook.cells if c.cell_type == "markdown")
    assert notebook.metadata.kernelspec.name == "python3"
    assert {p.name for p in NOTEBOOKS} == {"signing_report.ipynb", "run_report.ipynb"}


def test_signing_report_in_portuguese_in_a_clean_environment(report_url: str, tmp_path: Path) -> None:
    """A bare environment (no venv on PATH, empty HOME, a broken user 'python3' kernel) still renders, in pt-BR,
    with the numbers of the SQL, the company's days, charts with data and a PDF of the same page."""
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
            f"datetime.fromisoformat({UNTIL.isoformat()!r}), Path(sys.argv[1])))")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "reports")], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    page = Path(result.stdout.strip().splitlines()[-1])
    assert page == tmp_path / "reports" / "2026-03-07" / "signing_report.html"
    assert page.with_suffix(".ipynb").is_file()
    soup = _soup(page)
    assert soup.html["lang"] == "pt-BR" and soup.title.get_text() == "Relatório de assinaturas"
    assert [h.get_text() for h in soup.select("h1")] == ["Relatório de assinaturas"]  # one title
    assert soup.select_one("header .subtitle").get_text() == "De 01/03/2026 a 07/03/2026"
    assert f"fuso horário {ZONE}" in soup.select_one("header .zone").get_text()
    assert english_left(page, "pt_BR") == []
    assert not soup.select("script") and "http" not in " ".join(str(t.get("src", "")) for t in soup.select("[src]"))
    assert "build_signing_report" not in str(soup) and "Traceback" not in str(soup)
    assert soup.select_one("#no-activity") is None
    assert [f["id"] for f in soup.select("figure.chart")] == [
        "funnel-chart", "time-to-sign-chart", "channel-chart", "throughput-chart", "pending-chart"]

    engine = make_engine(report_url)
    try:
        funnel = dict(load_metric(engine, "funnel", SINCE, UNTIL).itertuples(index=False, name=None))
        channels = load_metric(engine, "channels", SINCE, UNTIL)
        pending = load_metric(engine, "pending_requests", SINCE, UNTIL)
    finally:
        engine.dispose()
    shown, values = figures(page), figure_values(page)
    assert shown["created"] == str(funnel["created"]) == "6"
    assert shown["signed"] == str(funnel["client_signed"]) == "3"
    assert shown["pending"] == str(len(pending)) == "1"
    assert shown["median_s"] == "10,0 h" and shown["p90_s"] == "3,3 dias" and values["median_s"] == "36000.0"
    funnel_rows = {row[0]: row for row in table(page, "funnel")}
    assert funnel_rows["Enviado"][1] == str(funnel["sent"]) and funnel_rows["Concluído"][1] == str(funnel["completed"])
    assert funnel_rows["Recusado"][2] == "16,7%"
    sms = next(row for row in table(page, "channels") if row[0] == "SMS")
    assert sms[1] == str(int(channels.loc[channels["channel"] == "sms", "requests"].sum()))
    assert table(page, "decline-reasons") == [["Preço acima do combinado", "1"]]
    # one signer per document ("[]"): 5 invited of 6, 3 signed, 1 declined
    assert table(page, "signer-funnel") == [["Signatário", "1", "6", "5", "0", "0", "3", "1", "0"]]
    assert table(page, "throughput")[0][0] == "02/03/2026"  # the company's day of the first events

    pages, text = pdf_text(page.with_suffix(".pdf"))
    assert pages >= 3 and "Relatório de assinaturas" in text and "Funil" in text and "Volume diário" in text
    assert PdfReader(page.with_suffix(".pdf")).metadata.title == "Relatório de assinaturas"


def test_run_report_times_every_step(report_url: str, tmp_path: Path) -> None:
    page = generate_run_report(report_url, RUN_ID, tmp_path, where=ReportLocale(timezone=ZONE), pdf=False)
    assert page == tmp_path / "2026-03-02" / "run_report_manual__r1.html"
    assert not page.with_suffix(".pdf").exists()
    assert english_left(page, "pt_BR") == []
    shown = figures(page)
    assert shown["documents"] == "6" and shown["quarantined"] == "1" and shown["seconds"] == "4,0 min"
    assert shown["approved_by"] == "automática (configuração)"
    steps = {row[0]: row for row in table(page, "steps")}
    assert [row[5] for row in steps.values()] == ["1,2 min", "20,0 s", "38,0 s", "52,0 s", "1,0 min"]
    assert steps["Validar e gerar"][1] == "preparados 5, em quarentena 1"
    assert steps["Assinatura da empresa"][3] == "02/03/2026 06:00:30"  # approved at 09:00:30 UTC
    assert _soup(page).select_one("figure#steps-chart img") is not None
    assert table(page, "quarantined") == [["106", "DOC-D6", "Em quarentena", "Nome do cliente: não informado"]]


def test_empty_database_in_spanish_says_so_instead_of_empty_charts(empty_url: str, tmp_path: Path) -> None:
    page = generate_report(empty_url, SINCE, UNTIL, tmp_path, where=ReportLocale("es", ZONE))
    soup = _soup(page)
    assert soup.html["lang"] == "es" and [h.get_text() for h in soup.select("h1")] == ["Informe de firmas"]
    assert "Ninguna actividad en este período" in soup.select_one("#no-activity").get_text()
    assert not soup.select("figure.chart") and len(soup.select("p.chart-empty")) == 5
    assert english_left(page, "es") == []
    assert figures(page)["created"] == "0" and figures(page)["median_s"] == "–"
    assert PdfReader(page.with_suffix(".pdf")).pages


@pytest.mark.postgres
def test_signing_report_in_english_on_postgresql(pg_report_engine: Engine, report_engine: Engine,
                                                  tmp_path: Path) -> None:
    url = pg_report_engine.url.render_as_string(hide_password=False)
    page = generate_report(url, SINCE, UNTIL, tmp_path, where=ReportLocale("en", ZONE), pdf=False)
    soup = _soup(page)
    assert [h.get_text() for h in soup.select("h1")] == ["Signing report"]
    assert soup.select_one("header .subtitle").get_text() == "From 03/01/2026 to 03/07/2026"
    assert figures(page)["median_s"] == "10.0 h" and figures(page)["p90_s"] == "3.3 days"
    assert figure_values(page)["created"] == "6" and len(soup.select("figure.chart")) == 5


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
        nbformat.v4.new_code_cell('database_url = ""\nsince = ""\nuntil = ""\nreport_title = ""\nlanguage = ""\n'
                                  'timezone = ""', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("raise RuntimeError('boom')")])
    broken.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(broken, notebooks / "signing_report.ipynb")
    monkeypatch.setattr(runner_module, "NOTEBOOK_DIR", notebooks)
    url = "postgresql+psycopg://reporter:s3cret-pw@db.invalid:5432/esign"
    with pytest.raises(ReportError, match=r"signing_report.ipynb failed in cell 3: RuntimeError: boom"):
        generate_report(url, SINCE, UNTIL, tmp_path / "out")
    executed = tmp_path / "out" / "2026-03-07" / "signing_report.ipynb"
    assert executed.is_file() and "s3cret-pw" not in executed.read_text() and "reporter:***@" in executed.read_text()
    assert not executed.with_suffix(".html").exists() and not executed.with_suffix(".pdf").exists()
    monkeypatch.setattr(runner_module, "NOTEBOOK_DIR", tmp_path / "missing")
    with pytest.raises(ReportError, match="report notebook not found"):
        generate_report(url, SINCE, UNTIL, tmp_path / "out")


def test_a_kernel_that_cannot_start_is_a_report_error_with_its_log(report_url: str, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel's standard error goes to a log, not the terminal; a failed start shows that log's tail."""
    (tmp_path / "dead_kernel.py").write_text(
        "import os, sys\n"
        "fd = os.open(os.environ['ESIGN_KERNEL_LOG'], os.O_WRONLY | os.O_CREAT | os.O_APPEND)\n"
        "os.dup2(fd, 2)\n"
        "print('cannot bind the kernel sockets', file=sys.stderr)\n"
        "sys.exit(3)\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setattr(runner_module, "KERNEL_MODULE", "dead_kernel")
    with pytest.raises(ReportError, match=r"(?s)could not be executed: .*kernel log:\ncannot bind the kernel sockets"):
        generate_report(report_url, SINCE, UNTIL, tmp_path / "out", pdf=False)
    assert not (tmp_path / "out" / "2026-03-07" / "signing_report.html").exists()


def test_a_relative_sqlite_path_is_read_from_the_callers_folder(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    """The kernel runs in the report's folder: a relative SQLite path must still name the caller's file."""
    monkeypatch.chdir(tmp_path)
    assert runner_module._absolute_database_url("sqlite:///var/esign.db") == f"sqlite:///{tmp_path}/var/esign.db"
    assert runner_module._absolute_database_url("sqlite:////abs/esign.db") == "sqlite:////abs/esign.db"
    pg = "postgresql+psycopg://u:p@h/db"
    assert runner_module._absolute_database_url(pg) == pg
