"""Execute the report notebooks with papermill and publish each as an HTML page and a PDF beside it.

Layout: ``<out_dir>/<YYYY-MM-DD>/signing_report.html`` (and ``run_report_<run>.html``), each with its ``.pdf``
and the executed ``.ipynb`` beside it so an analyst can open and re-run it in JupyterLab. The day is the
company's (the report's time zone).

The kernel is always the interpreter running this code (a private kernel spec pointing at
``sys.executable``): a ``python3`` kernel spec left in a user's Jupyter folder can never make a report run
under another Python that lacks ``esign``. Its standard error goes to a log shown only when a report fails.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import make_url

from esign.config import Settings
from esign.i18n import DEFAULT_TIMEZONE, translator
from esign.reporting import pages, publish
from esign.reporting.people import ManagerNames, ask_crm
from esign.reporting.queries import ReportError, as_utc, load_metric
from esign.store import make_engine

if TYPE_CHECKING:
    from collections.abc import Callable

    from esign.crm.base import CrmClient

NOTEBOOK_DIR = Path(__file__).resolve().parents[3] / "notebooks"
SIGNING_NOTEBOOK = "signing_report.ipynb"
RUN_NOTEBOOK = "run_report.ipynb"
DEFAULT_DAYS = 30
KERNEL_NAME = "esign-python"
#: ``esign.reporting.kernel`` (not imported here: ``python -m`` would then find it loaded before it runs).
KERNEL_MODULE = "esign.reporting.kernel"
KERNEL_LOG_VARIABLE = "ESIGN_KERNEL_LOG"
NOTEBOOK_TIMEOUT_S = 600


@dataclass(frozen=True)
class ReportLocale:
    """Who reads the reports: their language and the time zone their days and times are in."""

    language: str | None = None  # None: the company default (pt-BR)
    timezone: str = DEFAULT_TIMEZONE


def company_locale(settings: Settings, language: str | None = None) -> ReportLocale:
    """The company's language (or ``language``) and time zone, from its company file."""
    from esign.company import load_company

    company = load_company(settings.company_file)
    return ReportLocale(language=language or company.language, timezone=company.timezone)


def default_period(day: date | None = None, days: int = DEFAULT_DAYS,
                   timezone: str = DEFAULT_TIMEZONE) -> tuple[datetime, datetime]:
    """The ``days`` whole days of ``timezone`` ending with ``day`` (default: today there), as UTC ``[since, until)``."""
    zone = ZoneInfo(timezone)
    last = day or datetime.now(zone).date()
    until = datetime.combine(last + timedelta(days=1), time(), tzinfo=zone)
    since = datetime.combine(last - timedelta(days=days - 1), time(), tzinfo=zone)
    return since.astimezone(UTC), until.astimezone(UTC)


def report_day(until: datetime, timezone: str = DEFAULT_TIMEZONE) -> date:
    """The last day a period covers, in the report's zone: names the report's folder."""
    return (as_utc(until) - timedelta(microseconds=1)).astimezone(ZoneInfo(timezone)).date()


def generate_report(database_url: str, since: datetime, until: datetime, out_dir: Path, title: str | None = None,
                    *, where: ReportLocale | None = None, pdf: bool = True,
                    crm: CrmClient | Callable[[], CrmClient] | None = None) -> Path:
    """Run ``notebooks/signing_report.ipynb`` for ``[since, until)``; returns the HTML page's path (PDF beside).

    ``crm`` (or a factory of it) is asked for the period's managers' names and departments; without it, or when
    it cannot be asked, the managers are shown by their ID.
    """
    where = where or ReportLocale()
    since, until = as_utc(since), as_utc(until)
    if since >= until:
        raise ReportError(f"empty period: since ({since.isoformat()}) is not before until ({until.isoformat()})")
    target = Path(out_dir) / report_day(until, where.timezone).isoformat() / "signing_report.html"
    params = {"since": since.isoformat(), "until": until.isoformat()}
    if crm is not None:
        params["people"] = period_people(database_url, since, until, crm).to_json()
    return _execute(SIGNING_NOTEBOOK, database_url, params, target, title, where, pdf=pdf)


def period_people(database_url: str, since: datetime, until: datetime,
                  crm: CrmClient | Callable[[], CrmClient]) -> ManagerNames:
    """The CRM's names and departments for the managers of the documents created in ``[since, until)``."""
    engine = make_engine(database_url)
    try:
        managers = load_metric(engine, "managers", since, until)
    finally:
        engine.dispose()
    return ask_crm(crm, managers["manager_id"])


def pipeline_crm(settings: Settings) -> Callable[[], CrmClient]:
    """A factory of the CRM the pipeline is configured with (embedded or Bitrix24), opened when first asked."""

    def open_crm() -> CrmClient:
        from esign.composition import services_for, workspace_for

        return services_for(ws=workspace_for(settings)).crm

    return open_crm


def generate_run_report(database_url: str, run_id: str, out_dir: Path, title: str | None = None, *,
                        where: ReportLocale | None = None, pdf: bool = True) -> Path:
    """Run ``notebooks/run_report.ipynb`` for one esign_send run; a run without batches is an error."""
    where = where or ReportLocale()
    engine = make_engine(database_url)
    try:
        batches = load_metric(engine, "run_batches", run_id=run_id)
    finally:
        engine.dispose()
    if batches.empty:
        raise ReportError(f"no batches recorded for run {run_id!r}")
    day = batches["created_at"].min().tz_convert(ZoneInfo(where.timezone)).date()
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id).strip("_")[:120] or "run"
    target = Path(out_dir) / day.isoformat() / f"run_report_{slug}.html"
    return _execute(RUN_NOTEBOOK, database_url, {"run_id": run_id}, target, title, where, pdf=pdf)


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
    """Where the pipeline publishes reports: ``<workdir>/reports`` unless ``ESIGN_REPORTS_DIR`` says otherwise."""
    return settings.reports_dir


def published(page: Path) -> list[Path]:
    """A report's HTML page and, when it was printed, its PDF."""
    pdf = page.with_suffix(".pdf")
    return [page, pdf] if pdf.is_file() else [page]


def reports_for_demo(settings: Settings, run_id: str | None) -> list[Path]:
    """The last 30 days' signing report and the run report of ``run_id`` (default: the latest run): HTML and PDF."""
    where = company_locale(settings)
    since, until = default_period(timezone=where.timezone)
    out = reports_dir(settings)
    paths = published(generate_report(settings.database_url, since, until, out, where=where,
                                       crm=pipeline_crm(settings)))
    run = run_id or latest_run_id(settings.database_url)
    if run is not None:
        paths += published(generate_run_report(settings.database_url, run, out, where=where))
    return paths


def _absolute_database_url(database_url: str) -> str:
    """A relative SQLite path made absolute: the kernel runs in the report's folder, not the caller's."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:") and not Path(url.database).is_absolute():
        return url.set(database=str(Path(url.database).resolve())).render_as_string(hide_password=False)
    return database_url


def _execute(notebook: str, database_url: str, params: dict[str, Any], target: Path, title: str | None,
             where: ReportLocale, *, pdf: bool) -> Path:
    """papermill into ``target.ipynb``, then the HTML page (inputs hidden) and its PDF.

    ``title`` replaces the report's own (translated) title; the page's ``<title>`` is the same words.
    """
    import papermill
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    source = NOTEBOOK_DIR / notebook
    if not source.is_file():
        raise ReportError(f"report notebook not found: {source}")
    t = translator(where.language, where.timezone)
    page_title = title or (t.gettext(pages.SIGNING_TITLE) if notebook == SIGNING_NOTEBOOK else
                           f"{t.gettext(pages.RUN_TITLE)} – {pages.run_label(str(params.get('run_id')), t)}")
    database_url = _absolute_database_url(database_url)
    params = {"database_url": database_url, **params, "report_title": title or "", "language": t.locale,
              "timezone": t.timezone}
    target.parent.mkdir(parents=True, exist_ok=True)
    executed = target.with_suffix(".ipynb")
    with tempfile.TemporaryDirectory(prefix="esign-kernel-") as kernels, publish.quiet_jupyter():
        spec = Path(kernels) / KERNEL_NAME
        spec.mkdir()
        log = Path(kernels) / "kernel.log"
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", KERNEL_MODULE, "-f", "{connection_file}"],
            "env": {KERNEL_LOG_VARIABLE: str(log)},
            "display_name": "Python 3 (esign)", "language": "python"}), encoding="utf-8")
        manager = AsyncKernelManager(kernel_name=KERNEL_NAME,
                                     kernel_spec_manager=KernelSpecManager(kernel_dirs=[kernels]))
        try:
            papermill.execute_notebook(str(source), str(executed), parameters=params, kernel_name="python3",
                                       km=manager, progress_bar=False, log_output=False,
                                       execution_timeout=NOTEBOOK_TIMEOUT_S, cwd=str(target.parent))
        except papermill.PapermillExecutionError as exc:
            _mask_password(executed, database_url)
            raise ReportError(f"{notebook} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue} "
                              f"(executed notebook kept at {executed})") from exc
        except Exception as exc:  # kernel start-up, timeouts, unreadable notebook
            _mask_password(executed, database_url)
            raise ReportError(f"{notebook} could not be executed: {exc.__class__.__name__}: {exc}"
                              f"{_tail(log)}") from exc
        _mask_password(executed, database_url)
        publish.write_html(executed, target, title=page_title, lang=t.locale.replace("_", "-"))
    if pdf:
        publish.write_pdf(target, target.with_suffix(".pdf"))
    return target


def _tail(log: Path, lines: int = 10) -> str:
    if not log.is_file():
        return ""
    text = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-lines:]
    return ("\nkernel log:\n" + "\n".join(text)) if text else ""


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
