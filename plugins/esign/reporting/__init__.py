"""Reports for analysts: metric queries (``sql/metrics``) as DataFrames, and notebooks published as HTML and PDF.

No Airflow here: the report DAG, the CLI and the demo all call these functions. Every word a report shows goes
through the translation catalogue (the company's language by default), dates in the company's time zone.
"""

from esign.reporting.people import ManagerNames, ask_crm
from esign.reporting.queries import ReportError, as_utc, get_query, load_metric, metric_names
from esign.reporting.report import RunReport, SigningReport, build_run_report, build_signing_report
from esign.reporting.runner import (
    ReportLocale,
    company_locale,
    default_period,
    generate_report,
    generate_run_report,
    latest_run_id,
    period_people,
    pipeline_crm,
    published,
    reports_dir,
    reports_for_demo,
)

__all__ = [
    "ManagerNames",
    "ReportError",
    "ReportLocale",
    "RunReport",
    "SigningReport",
    "as_utc",
    "ask_crm",
    "build_run_report",
    "build_signing_report",
    "company_locale",
    "default_period",
    "generate_report",
    "generate_run_report",
    "get_query",
    "latest_run_id",
    "load_metric",
    "metric_names",
    "period_people",
    "pipeline_crm",
    "published",
    "reports_dir",
    "reports_for_demo",
]
