"""What the reports compute from the queries: conversion, percentiles, buckets, reminders, run steps."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import Engine, insert

from esign.crm.local import LocalCrm
from esign.i18n import translator
from esign.pipeline.schema import batches
from esign.reporting import (
    RunReport,
    SigningReport,
    ask_crm,
    build_run_report,
    build_signing_report,
    default_period,
)
from esign.reporting.labels import NO_REASON
from esign.reporting.metrics import funnel_table, histogram, pending_buckets, throughput_daily
from esign.reporting.present import figures_html, format_duration, format_value, table_html

from .conftest import MINUTE, RUN_ID, SINCE, T0, UNTIL

SECOND = timedelta(seconds=1)


def test_signing_report_key_figures(report_engine: Engine) -> None:
    report = build_signing_report(report_engine, SINCE, UNTIL)
    assert report.has_activity
    assert report.figures == {
        "created": 6, "sent": 5, "signed": 3, "declined": 1, "expired": 0, "completed_of_created": 3,
        "quarantined_of_created": 1, "median_s": 36000.0, "p90_s": 283680.0, "pending": 1, "past_expiry": 0,
        "reminders_sent": 1, "signers": 6, "signers_signed": 3,
    }


def test_funnel_conversion_skips_the_optional_view(report_engine: Engine) -> None:
    funnel = build_signing_report(report_engine, SINCE, UNTIL).funnel.set_index("stage")
    assert funnel.loc["company_signed", "pct_of_previous"] == 83.3
    assert funnel.loc["viewed", "pct_of_previous"] == 20.0
    assert funnel.loc["client_signed", "pct_of_previous"] == 60.0  # 3 of 5 sent, not 3 of 1 viewed
    assert funnel.loc["quarantined", "pct_of_created"] == 16.7
    assert funnel_table(pd.DataFrame()).loc[0, "pct_of_created"] is None


def test_breakdowns(report_engine: Engine) -> None:
    """Managers' names and departments come from the CRM (here the embedded one, in the same database)."""
    report = build_signing_report(report_engine, SINCE, UNTIL, people=ask_crm(LocalCrm(report_engine), ["1", "2"]))
    assert report.by_template.to_dict("records") == [
        {"template": "tpl_a", "signed": 2, "median_s": 21600.0, "p90_s": 33120.0},
        {"template": "tpl_b", "signed": 1, "median_s": 345600.0, "p90_s": 345600.0}]
    assert list(report.sign_histogram["documents"]) == [0, 1, 1, 0, 1, 0]
    assert report.channels.set_index("channel")["pct_signed"].to_dict() == {"email": 66.7, "sms": 50.0}
    assert report.managers.set_index("manager")[["manager_id", "documents", "completed", "declined"]].to_dict(
        "index") == {
        "Ana Souza": {"manager_id": "1", "documents": 3, "completed": 2, "declined": 0},
        "Bruno Lima": {"manager_id": "2", "documents": 3, "completed": 1, "declined": 1}}
    assert report.departments.set_index("department")["median_s"].to_dict() == {"Vendas RJ": 345600.0,
                                                                                "Vendas SP": 21600.0}
    days = report.throughput.set_index(report.throughput["day"].astype(str))
    assert days.loc["2026-03-02"].tolist()[1:] == [6, 5, 2, 0, 0]
    assert days.loc["2026-03-06", "signed"] == 1 and len(days) == 7
    assert list(report.sign_histogram.columns) == ["duration", "documents"]
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


def test_empty_database_reports_no_activity(empty_reports: tuple[SigningReport, RunReport]) -> None:
    report, run = empty_reports
    assert not report.has_activity
    assert report.figures["median_s"] is None and report.figures["created"] == 0
    assert report.channels.empty and report.managers.empty and report.by_template.empty
    assert not run.found and run.figures["documents"] == 0 and run.figures["docs_per_second"] is None
    assert run.steps["seconds"].isna().all()


def test_run_report_steps_last_from_the_step_before_to_their_own_end(report_engine: Engine) -> None:
    """The ledger stamps a group of documents with one time: a step's duration must not come from the spread of
    its own events (that made every step 0.0 s). In the scenario the batch was created at T0 - 1 min, the last
    document prepared at T0 + 10 s, approved at T0 + 30 s, the last company signature at T0 + 68 s, the links sent
    at T0 + 2 min and the batch's last write (the CRM step) at T0 + 3 min."""
    run = build_run_report(report_engine, RUN_ID)
    steps = run.steps.set_index("step")
    assert list(steps.index) == ["prepare", "approval", "sign", "dispatch", "crm"]
    assert steps["seconds"].tolist() == [70.0, 20.0, 38.0, 52.0, 60.0]
    assert steps.loc["prepare", "counts"] == {"prepared": 5, "quarantined": 1}
    assert steps.loc["prepare", "documents"] == 6 and steps.loc["sign", "documents"] == 5
    assert steps.loc["sign", "docs_per_second"] == 0.13 and pd.isna(steps.loc["approval", "documents"])
    assert steps.loc["crm", "counts"] == {"moved": 5}
    assert steps.loc["sign", "started"] == pd.Timestamp("2026-03-02T09:00:30Z")
    assert run.figures["seconds"] == 240.0 and run.figures["documents"] == 6 and run.figures["quarantined"] == 1
    assert run.figures["approved_by"] == "auto-approve (configuration)"


def test_run_steps_span_parallel_batches(report_engine: Engine) -> None:
    """A second batch whose deals all left the CRM (no document) and whose CRM step ended last: the CRM step spans
    from the earliest start (that batch's approval) to the last end over both batches."""
    later = T0 + 5 * MINUTE
    with report_engine.begin() as conn:
        conn.execute(insert(batches).values(
            id=f"{RUN_ID}#00001", run_id=RUN_ID, crm="local", template_id="tpl_a", stage_id="C1:PREPARATION",
            first_id=107, last_id=107, planned=1, approved_by="auto-approve (configuration)",
            approved_at=T0 + 30 * SECOND, counts_json=json.dumps({"prepare": {"missing": 1}, "crm": {}}),
            created_at=T0 - MINUTE, updated_at=later))
    steps = build_run_report(report_engine, RUN_ID).steps.set_index("step")
    assert steps["seconds"].tolist() == [70.0, 20.0, 38.0, 52.0, 270.0]
    assert steps.loc["crm", "started"] == T0 + 30 * SECOND and steps.loc["crm", "finished"] == later
    assert steps.loc["prepare", "counts"] == {"prepared": 5, "quarantined": 1, "missing": 1}


def test_presentation_in_the_readers_language() -> None:
    pt, en, es = translator("pt_BR"), translator("en"), translator("es")
    assert [format_duration(s, pt) for s in (None, float("nan"), 5.84, 738, 36000, 283680)] == [
        "–", "–", "5,8 s", "12,3 min", "10,0 h", "3,3 dias"]
    assert format_duration(283680, en) == "3.3 days" and format_duration(283680, es) == "3,3 días"
    assert format_value("pct_signed", 66.7, pt) == "66,7%" and format_value("documents", 12345, pt) == "12.345"
    assert format_value("stage", "declined", pt) == "Recusado" and format_value("stage", "created", pt) == "Criados"
    assert format_value("channel", "email", es) == "Correo electrónico"
    assert format_value("approved_at", pd.Timestamp("2026-03-02T09:00:30Z"), pt) == "02/03/2026 06:00:30"
    assert format_value("counts", {"prepared": 5, "quarantined": 0}, pt) == "preparados 5"
    assert format_value("approved_by", "auto-approve (configuration)", pt) == "automática (configuração)"
    assert format_value("step", "sign", en) == "Company signature"
    assert format_value("reason", "counterparty.email: invalid format; counterparty.name: missing", pt) == (
        "E-mail do cliente: formato inválido; Nome do cliente: não informado")
    assert format_value("reason", "o preço subiu", pt) == "o preço subiu"  # a client's own words stay theirs
    empty = table_html(pd.DataFrame(), pt, table_id="t", empty="nada")
    assert 'id="t"' in empty and "nada" in empty and "Nada a mostrar." in table_html(pd.DataFrame(), pt, table_id="t")
    html = figures_html({"median_s": 60.0, "approved_by": "<b>"}, ["median_s", "approved_by"], pt)
    assert '<dd data-figure="median_s" data-value="60.0">1,0 min</dd>' in html and "&lt;b&gt;" in html
    assert "<dt>Tempo mediano até a assinatura</dt>" in html
    assert histogram(pd.Series([1.0, 10 * 86400.0]))["count"].tolist() == [1, 0, 0, 0, 0, 1]


def test_tables_align_text_left_numbers_right_and_word_missing_values() -> None:
    frame = pd.DataFrame({"reason": [None, "Preço"], "documents": [2, 1], "pct_signed": [50.0, None]})
    soup = BeautifulSoup(table_html(frame, translator(), table_id="t", placeholders={"reason": NO_REASON}),
                         "html.parser")
    assert [th["class"] for th in soup.select("th")] == [["text"], ["num"], ["num"]]
    first = soup.select("tbody tr")[0].select("td")
    assert [td.get_text() for td in first] == ["(nenhum motivo registrado)", "2", "50,0%"]
    assert [td["class"] for td in first] == [["text"], ["num"], ["num"]]
    assert [th.get_text() for th in soup.select("th")] == ["Motivo", "Documentos", "% assinadas"]


def test_default_period_is_thirty_whole_days_of_the_company() -> None:
    since, until = default_period(datetime(2026, 3, 7).date())  # America/Sao_Paulo: UTC-03:00
    assert (since, until) == (datetime(2026, 2, 6, 3, tzinfo=UTC), datetime(2026, 3, 8, 3, tzinfo=UTC))
    assert default_period(datetime(2026, 3, 7).date(), timezone="UTC") == (datetime(2026, 2, 6, tzinfo=UTC),
                                                                           datetime(2026, 3, 8, tzinfo=UTC))


def test_days_are_the_companys(report_engine: Engine) -> None:
    """An event at 01:30 UTC on 03-06 happened on 03-05 in São Paulo: it counts for that day there."""
    rows = pd.DataFrame({"at": pd.to_datetime(["2026-03-06T01:30:00Z"]), "kind": ["signed"]})
    local = throughput_daily(rows, SINCE, UNTIL, "America/Sao_Paulo").set_index("day")
    utc = throughput_daily(rows, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 8, tzinfo=UTC), "UTC")
    assert local.loc[date(2026, 3, 5), "signed"] == 1 and local["signed"].sum() == 1
    assert utc.set_index("day").loc[date(2026, 3, 6), "signed"] == 1


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
