"""Reports for analysts: metric queries (``sql/metrics``) as DataFrames, and notebooks rendered to HTML.

No Airflow here: the report DAG, the CLI and the demo all call these functions.
"""

from esign.reporting.queries import ReportError, as_utc, get_query, load_metric, metric_names
from esign.reporting.report import RunReport, SigningReport, build_run_report, build_signing_report
from esign.reporting.runner import (
    default_period,
    generate_report,
    generate_run_report,
    latest_run_id,
    reports_dir,
    reports_for_demo,
)

__all__ = [
    "ReportError",
    "RunReport",
    "SigningReport",
    "as_utc",
    "build_run_report",
    "build_signing_report",
    "default_period",
    "generate_report",
    "generate_run_report",
    "get_query",
    "latest_run_id",
    "load_metric",
    "metric_names",
    "reports_dir",
    "reports_for_demo",
]
