"""``esign report``: publish the signing report (and optionally one run's report) as HTML pages with their PDFs.

It prints only where the reports are, in the company's language; the notebooks' kernels keep their chatter to
themselves (a failure still says what went wrong).
"""

from __future__ import annotations

import argparse
import os
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from esign.cli import EXIT_OK, UsageError
from esign.composition import read_settings
from esign.i18n import SUPPORTED_LOCALES


def register(sub: Any) -> None:
    report = sub.add_parser("report", help="signing report (last 30 days by default) and run reports, HTML and PDF")
    report.add_argument("--since", type=_day,
                        help="first day covered (YYYY-MM-DD, the company's time zone); default: 30 days back")
    report.add_argument("--until", type=_day, help="last day covered, included (YYYY-MM-DD); default: today")
    report.add_argument("--run", metavar="RUN_ID", help="also the report of this esign_send run (its Airflow run ID)")
    report.add_argument("--workdir", type=Path,
                        help="the working directory whose ledger to read (default: ESIGN_HOME, else var/)")
    report.add_argument("--out", type=Path,
                        help="output folder (default: ESIGN_REPORTS_DIR, else reports/ in the working directory)")
    report.add_argument("--lang", choices=SUPPORTED_LOCALES,
                        help="language of the reports (default: the company's, from its company file)")
    report.set_defaults(handler=report_command)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def report_command(args: argparse.Namespace) -> int:
    from esign.i18n import translator
    from esign.reporting import (
        company_locale,
        default_period,
        generate_report,
        generate_run_report,
        pipeline_crm,
        published,
        reports_dir,
    )

    environ = dict(os.environ)
    if args.workdir is not None:
        environ["ESIGN_HOME"] = str(args.workdir)
    settings = read_settings(environ)
    where = company_locale(settings, args.lang)
    since, until = default_period(args.until, timezone=where.timezone)
    if args.since is not None:
        since = datetime.combine(args.since, time(), tzinfo=ZoneInfo(where.timezone))
    if since >= until:
        last = args.until or (until.astimezone(ZoneInfo(where.timezone)) - timedelta(days=1)).date()
        raise UsageError(f"--since ({args.since}) must not be after --until ({last})")
    out = args.out or reports_dir(settings)
    paths = published(generate_report(settings.database_url, since, until, out, where=where,
                                      crm=pipeline_crm(settings)))
    if args.run:
        paths += published(generate_run_report(settings.database_url, args.run, out, where=where))
    t = translator(where.language, where.timezone)
    print(t.gettext("Reports published:"))
    for path in paths:
        print(f"  {path}")
    return EXIT_OK
