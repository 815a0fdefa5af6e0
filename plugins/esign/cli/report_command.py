"""``esign report``: publish the signing report (and optionally one run's report) as HTML pages."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from esign.cli import EXIT_OK, UsageError
from esign.config import Settings


def register(sub: Any) -> None:
    report = sub.add_parser("report", help="signing report (last 30 days by default) and run reports, as HTML")
    report.add_argument("--since", type=_day, help="first day covered (YYYY-MM-DD, UTC); default: 30 days back")
    report.add_argument("--until", type=_day, help="last day covered, included (YYYY-MM-DD, UTC); default: today")
    report.add_argument("--run", metavar="RUN_ID", help="also the report of this esign_send run (its Airflow run ID)")
    report.add_argument("--out", type=Path, help="output folder (default: reports/ in the working directory)")
    report.set_defaults(handler=report_command)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def report_command(args: argparse.Namespace) -> int:
    from esign.reporting import default_period, generate_report, generate_run_report, reports_dir

    settings = Settings.from_env()
    since, until = default_period(args.until)
    if args.since is not None:
        since = datetime.combine(args.since, time(), tzinfo=UTC)
    if since >= until:
        raise UsageError(f"--since ({since.date()}) must not be after --until ({(until - timedelta(days=1)).date()})")
    out = args.out or reports_dir(settings)
    print(generate_report(settings.database_url, since, until, out))
    if args.run:
        print(generate_run_report(settings.database_url, args.run, out))
    return EXIT_OK
