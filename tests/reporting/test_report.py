"""What the reports compute from the queries: conversion, percentiles, buckets, reminders, run steps."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from sqlalchemy import Engine

from esign.reporting import build_run_report, build_signing_report, default_period
from esign.reporting.metrics import funnel_table, histogram, pending_buckets
from esign.reporting.present import figures_html, format_duration, table_html
from esign.store import make_engine

from .conftest import RUN_ID, SINCE, UNTIL


def test_signing_report_key_figures(report_engine: Engine) -> None:
    report = build_signing_report(report_engine, SINCE, UNTIL)
    assert report.has_activity
    assert report.figures == {
        "created": 6, "sent": 5, "signed": 3, "declined": 1, "expired": 0, "completed_of_created": 3,
        "quarantined_of_created": 1, "median_s": 36000.0, "p90_s": 283680.0, "pending": 1, "past_expiry": 0,
        "reminders_sent": 1,
    }


def test_funnel_conversion_skips_the_optional_view(report_engine: Engine) -> None:
    funnel = build_signing_report(report_engine, SINCE, UNTIL).funnel.set_index("stage")
    assert funnel.loc["company_signed", "pct_of_previous"] == 83.3
    assert funnel.loc["viewed", "pct_of_previous"] == 20.0
    assert funnel.loc["client_signed", "pct_of_previous"] == 60.0  # 3 of 5 sent, not 3 of 1 viewed
    assert funnel.loc["quarantined", "pct_of_created"] == 16.7
    assert funnel_table(pd.DataFrame()).loc[0, "pct_of_created"] is None


def test_breakdowns(report_engine: Engine) -> None:
    report = build_signing_report(report_engine, SINCE, UNTIL)
    assert report.by_template.to_dict("records") == [
        {"template": "tpl_a", "signed": 2, "median_s": 21600.0, "p90_s": 33120.0},
        {"template": "tpl_b", "signed": 1, "median_s": 345600.0, "p90_s": 345600.0}]
    assert list(report.sign_histogram["count"]) == [0, 1, 1, 0, 1, 0]
    assert report.channels.set_index("channel")["pct_signed"].to_dict() == {"email": 66.7, "sms": 50.0}
    assert report.managers.set_index("manager")[["documents", "completed", "declined"]].to_dict("index") == {
        "Ana Souza": {"documents": 3, "completed": 2, "declined": 0},
        "Bruno Lima": {"documents": 3, "completed": 1, "declined": 1}}
    assert report.departments.set_index("department")["median_s"].to_dict() == {"Vendas RJ": 345600.0,
                                                                                "Vendas SP": 21600.0}
    busy = report.throughput.set_index(report.throughput["day"].astype(str))
    assert busy.loc["2026-03-02"].tolist()[1:] == [6, 5, 2, 0, 0]
    assert busy.loc["2026-03-06", "signed"] == 1 and len(busy) == 7
    assert dict(report.reminders.itertuples(index=False, name=None)) == {
        "signed without a reminder": 2, "signed after a reminder": 1, "reminded, not signed": 0,
        "not reminded, not signed": 2}
    assert report.pending.set_index("bucket")["requests"].to_dict()["3-7 days"] == 1


def test_pending_age_is_measured_at_the_end_of_the_period_or_now(report_engine: Engine) -> None:
    later = build_signing_report(report_engine, SINCE, datetime(2026, 3, 30, tzinfo=UTC),
                                 now=datetime(2026, 3, 20, tzinfo=UTC))
    assert later.pending.set_index("bucket").loc["> 14 days"].tolist() == [1, 1]  # expired on 03-16, still open
    rows = pd.DataFrame({"created_at": pd.to_datetime(["2026-03-01T00:00:00Z"]),
                         "expires_at": pd.to_datetime(["2026-03-02T00:00:00Z"])})
    assert pending_buckets(rows, datetime(2026, 3, 1, 12, tzinfo=UTC))["requests"].tolist() == [1, 0, 0, 0, 0]


def test_empty_database_reports_no_activity(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        report = build_signing_report(engine, SINCE, UNTIL)
        run = build_run_report(engine, RUN_ID)
    finally:
        engine.dispose()
    assert not report.has_activity
    assert report.figures["median_s"] is None and report.figures["created"] == 0
    assert report.channels.empty and report.managers.empty and report.by_template.empty
    assert not run.found and run.figures["documents"] == 0 and run.figures["docs_per_second"] is None


def test_run_report_steps(report_engine: Engine) -> None:
    run = build_run_report(report_engine, RUN_ID)
    steps = run.steps.set_index("step")
    assert steps.loc["prepare", "counts"] == "prepared 5, quarantined 1"
    assert steps.loc["prepare", "documents"] == 6 and steps.loc["prepare", "seconds"] == 10.0
    assert steps.loc["sign", "seconds"] == 8.0 and steps.loc["sign", "docs_per_second"] == 0.62
    assert steps.loc["crm", "counts"] == "moved 5" and pd.isna(steps.loc["crm", "seconds"])
    assert run.figures["seconds"] == 240.0 and run.figures["documents"] == 6 and run.figures["quarantined"] == 1
    assert run.figures["approved_by"] == "auto-approve (configuration)"


def test_presentation_helpers() -> None:
    assert [format_duration(s) for s in (None, float("nan"), 5.84, 738, 36000, 283680)] == [
        "–", "–", "5.8 s", "12.3 min", "10.0 h", "3.3 days"]
    assert 'id="t"' in table_html(pd.DataFrame(), table_id="t", empty="nada") and "nada" in table_html(
        pd.DataFrame(), table_id="t", empty="nada")
    html = figures_html({"median_s": 60.0, "pct_signed": 50.0, "who": "<b>"}, {"median_s": "m", "pct_signed": "p",
                                                                              "who": "w"})
    assert '<dd data-figure="median_s">1.0 min</dd>' in html and ">50.0%<" in html and "&lt;b&gt;" in html
    assert histogram(pd.Series([1.0, 10 * 86400.0]))["count"].tolist() == [1, 0, 0, 0, 0, 1]


def test_default_period_is_thirty_whole_days() -> None:
    since, until = default_period(datetime(2026, 3, 7).date())
    assert (since, until) == (datetime(2026, 2, 6, tzinfo=UTC), datetime(2026, 3, 8, tzinfo=UTC))


@pytest.mark.postgres
def test_every_query_gives_the_same_rows_on_postgresql(pg_report_engine: Engine, report_engine: Engine) -> None:
    from esign.reporting import load_metric, metric_names

    for name in metric_names():
        pg = load_metric(pg_report_engine, name, SINCE, UNTIL, run_id=RUN_ID)
        lite = load_metric(report_engine, name, SINCE, UNTIL, run_id=RUN_ID)
        assert list(pg.columns) == list(lite.columns), name
        key = list(pg.columns)
        pg_rows = pg.astype(str).sort_values(key).reset_index(drop=True)
        lite_rows = lite.astype(str).sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(pg_rows, lite_rows, check_dtype=False, obj=name)
    assert build_signing_report(pg_report_engine, SINCE, UNTIL).figures == build_signing_report(
        report_engine, SINCE, UNTIL).figures
    assert build_run_report(pg_report_engine, RUN_ID).figures == build_run_report(report_engine, RUN_ID).figures
