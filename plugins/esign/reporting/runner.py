"""Execute the report notebooks with papermill and publish them as HTML with the code hidden.

Layout: ``<out_dir>/<YYYY-MM-DD>/signing_report.html`` (and ``run_report_<run>.html``), each with the
executed ``.ipynb`` beside it so an analyst can open and re-run it in JupyterLab.

The kernel is always the interpreter running this code (a private kernel spec pointing at
``sys.executable``): a ``python3`` kernel spec left in a user's Jupyter folder can never make a report run
under another Python that lacks ``esign``.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url

from esign.config import Settings
from esign.reporting.queries import ReportError, as_utc, load_metric
from esign.store import make_engine

NOTEBOOK_DIR = Path(__file__).resolve().parents[3] / "notebooks"
SIGNING_NOTEBOOK = "signing_report.ipynb"
RUN_NOTEBOOK = "run_report.ipynb"
DEFAULT_DAYS = 30
KERNEL_NAME = "esign-python"
NOTEBOOK_TIMEOUT_S = 600


def default_period(day: date | None = None, days: int = DEFAULT_DAYS) -> tuple[datetime, datetime]:
    """The ``days`` UTC days ending with ``day`` (default: today), as ``[since, until)``."""
    last = day or datetime.now(UTC).date()
    until = datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)
    return until - timedelta(days=days), until


def report_day(until: datetime) -> date:
    """The last day a period covers: names the report's folder."""
    return (as_utc(until) - timedelta(microseconds=1)).date()


def generate_report(database_url: str, since: datetime, until: datetime, out_dir: Path,
                    title: str = "Signing report") -> Path:
    """Run ``notebooks/signing_report.ipynb`` for ``[since, until)``; returns the HTML page's path."""
    since, until = as_utc(since), as_utc(until)
    if since >= until:
        raise ReportError(f"empty period: since ({since.isoformat()}) is not before until ({until.isoformat()})")
    target = Path(out_dir) / report_day(until).isoformat() / "signing_report.html"
    params = {"database_url": database_url, "since": since.isoformat(), "until": until.isoformat(),
              "report_title": title}
    return _execute(SIGNING_NOTEBOOK, params, target)


def generate_run_report(database_url: str, run_id: str, out_dir: Path, title: str | None = None) -> Path:
    """Run ``notebooks/run_report.ipynb`` for one esign_send run; a run without batches is an error."""
    engine = make_engine(database_url)
    try:
        batches = load_metric(engine, "run_batches", run_id=run_id)
    finally:
        engine.dispose()
    if batches.empty:
        raise ReportError(f"no batches recorded for run {run_id!r}")
    day = batches["created_at"].min().date()
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id).strip("_")[:120] or "run"
    target = Path(out_dir) / day.isoformat() / f"run_report_{slug}.html"
    params = {"database_url": database_url, "run_id": run_id, "report_title": title or f"Run report: {run_id}"}
    return _execute(RUN_NOTEBOOK, params, target)


def latest_run_id(database_url: str) -> str | None:
    """The run of the most recently created batch, or None when no run happened yet."""
    from esign.pipeline.schema import batches

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(batches.c.run_id).order_by(batches.c.created_at.desc()).limit(1)).scalar()
    finally:
        engine.dispose()


def reports_dir(settings: Settings) -> Path:
    """Where the pipeline publishes reports: ``reports/`` in the project folder (``ESIGN_REPORTS_DIR``)."""
    return settings.reports_dir


def reports_for_demo(settings: Settings, run_id: str | None) -> list[Path]:
    """The last 30 days' signing report and the run report of ``run_id`` (default: the latest run)."""
    since, until = default_period()
    out = reports_dir(settings)
    paths = [generate_report(settings.database_url, since, until, out)]
    run = run_id or latest_run_id(settings.database_url)
    if run is not None:
        paths.append(generate_run_report(settings.database_url, run, out))
    return paths


def _execute(notebook: str, params: dict[str, Any], target: Path) -> Path:
    """papermill into ``target.ipynb`` then nbconvert (inputs hidden) into ``target`` (written atomically)."""
    import nbformat
    import papermill
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbconvert import HTMLExporter

    source = NOTEBOOK_DIR / notebook
    if not source.is_file():
        raise ReportError(f"report notebook not found: {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    executed = target.with_suffix(".ipynb")
    with tempfile.TemporaryDirectory(prefix="esign-kernel-") as kernels:
        spec = Path(kernels) / KERNEL_NAME
        spec.mkdir()
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (esign)", "language": "python"}), encoding="utf-8")
        manager = AsyncKernelManager(kernel_name=KERNEL_NAME,
                                     kernel_spec_manager=KernelSpecManager(kernel_dirs=[kernels]))
        try:
            papermill.execute_notebook(str(source), str(executed), parameters=params, kernel_name="python3",
                                       km=manager, progress_bar=False, log_output=False,
                                       execution_timeout=NOTEBOOK_TIMEOUT_S, cwd=str(target.parent))
        except papermill.PapermillExecutionError as exc:
            _mask_password(executed, params["database_url"])
            raise ReportError(f"{notebook} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue} "
                              f"(executed notebook kept at {executed})") from exc
        except Exception as exc:  # kernel start-up, timeouts, unreadable notebook
            _mask_password(executed, params["database_url"])
            raise ReportError(f"{notebook} could not be executed: {exc.__class__.__name__}: {exc}") from exc
    _mask_password(executed, params["database_url"])
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True,  # type: ignore[no-untyped-call]
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nbformat.read(executed, as_version=4))  # type: ignore[no-untyped-call]
    partial = target.with_name(f".{target.name}.tmp")
    partial.write_text(body, encoding="utf-8")
    partial.replace(target)
    return target


def _mask_password(executed: Path, database_url: str) -> None:
    """The executed notebook is published: a password in the database URL must not be in it."""
    url = make_url(database_url)
    if not url.password or not executed.is_file():
        return
    masked = url.render_as_string(hide_password=True)
    text = executed.read_text(encoding="utf-8")
    for raw, safe in ((database_url, masked), (json.dumps(database_url)[1:-1], json.dumps(masked)[1:-1])):
        text = text.replace(raw, safe)
    executed.write_text(text, encoding="utf-8")
