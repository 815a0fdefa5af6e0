"""The metric queries on SQLite: known numbers, period filtering, fallbacks and every failure path."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, update

from esign.reporting import ReportError, get_query, load_metric, metric_names
from esign.reporting import queries as queries_module
from esign.requests.schema import signing_requests
from esign.store import make_engine
from esign.store.schema import documents, metadata

from .conftest import RUN_ID, SINCE, UNTIL, populate

EXPECTED_METRICS = {"channels", "decline_reasons", "delivery_problems", "funnel", "managers", "pending_requests",
                    "problems", "reminders", "run_batches", "run_events", "run_quarantine", "signer_funnel",
                    "throughput", "time_to_sign"}


def test_catalog_lists_every_sql_file_with_its_parameters() -> None:
    assert set(metric_names()) == EXPECTED_METRICS
    assert get_query("funnel").params == {"since", "until"}
    assert get_query("pending_requests").params == {"until"}
    assert get_query("run_batches").params == {"run_id"}
    managers = get_query("managers")  # the ledger only: names and departments are asked of the CRM
    assert managers.requires == () and managers.fallback is None and "crm_" not in managers.sql


def test_unknown_metric_names_the_known_ones(report_engine: Engine) -> None:
    with pytest.raises(ReportError, match=r"unknown metric 'nope'; known metrics: channels, decline_reasons"):
        load_metric(report_engine, "nope", SINCE, UNTIL)


def test_missing_parameter_and_empty_period(report_engine: Engine) -> None:
    with pytest.raises(ReportError, match="metric 'funnel' needs the parameter 'since'"):
        load_metric(report_engine, "funnel", None, UNTIL)
    with pytest.raises(ReportError, match="metric 'run_batches' needs the parameter 'run_id'"):
        load_metric(report_engine, "run_batches", SINCE, UNTIL)
    with pytest.raises(ReportError, match="empty period"):
        load_metric(report_engine, "funnel", UNTIL, SINCE)


def test_funnel_channels_and_reasons(report_engine: Engine) -> None:
    funnel = dict(load_metric(report_engine, "funnel", SINCE, UNTIL).itertuples(index=False, name=None))
    assert funnel == {"created": 6, "draft": 5, "company_signed": 5, "sent": 5, "viewed": 1, "client_signed": 3,
                      "completed": 3, "declined": 1, "quarantined": 1}
    channels = load_metric(report_engine, "channels", SINCE, UNTIL)
    assert sorted(channels.itertuples(index=False, name=None)) == [
        ("email", "declined", 1), ("email", "signed", 2), ("sms", "open", 1), ("sms", "signed", 1)]
    reasons = load_metric(report_engine, "decline_reasons", SINCE, UNTIL)
    assert list(reasons.itertuples(index=False, name=None)) == [("Preço acima do combinado", 1)]
    problems = load_metric(report_engine, "problems", SINCE, UNTIL)
    assert list(problems.itertuples(index=False, name=None)) == [("quarantined", "counterparty.name: missing", 1)]
    assert load_metric(report_engine, "delivery_problems", SINCE, UNTIL).empty


def test_missing_reasons_are_null_for_the_page_to_word(report_engine: Engine) -> None:
    """The queries return no English placeholder: a missing reason is NULL and the page words it per language."""
    with report_engine.begin() as conn:
        conn.execute(update(signing_requests).where(signing_requests.c.id == "REQ-D4").values(decline_reason="  "))
        conn.execute(update(documents).where(documents.c.id == "DOC-D6").values(reason=None))
    reasons = load_metric(report_engine, "decline_reasons", SINCE, UNTIL)
    assert reasons["reason"].isna().all() and reasons["documents"].tolist() == [1]
    problems = load_metric(report_engine, "problems", SINCE, UNTIL)
    assert problems["reason"].isna().all() and problems["documents"].tolist() == [1]
    assert load_metric(report_engine, "run_quarantine", run_id=RUN_ID)["reason"].isna().all()


def test_time_columns_are_utc_timestamps_and_the_period_filters(report_engine: Engine) -> None:
    timed = load_metric(report_engine, "time_to_sign", SINCE, UNTIL).sort_values("document_id")
    assert list(timed["document_id"]) == ["DOC-D1", "DOC-D2", "DOC-D3"]  # D7 signed in February
    assert str(timed["signed_at"].dt.tz) == "UTC"
    assert list((timed["signed_at"] - timed["sent_at"]).dt.total_seconds()) == [7200.0, 36000.0, 345600.0]
    assert list(timed["channel"]) == ["email", "email", "sms"]
    february = load_metric(report_engine, "time_to_sign", datetime(2026, 2, 1, tzinfo=UTC), SINCE)
    assert list(february["document_id"]) == ["DOC-D7"] and pd.isna(february["channel"].iloc[0])
    naive = load_metric(report_engine, "time_to_sign", datetime(2026, 3, 1), datetime(2026, 3, 8))
    assert len(naive) == 3  # naive datetimes are UTC


def test_managers_by_id_with_and_without_the_embedded_crms_tables(report_engine: Engine, tmp_path: Path) -> None:
    rows = load_metric(report_engine, "managers", SINCE, UNTIL)
    assert list(rows.columns) == ["manager_id", "stage", "documents"]
    assert set(rows["manager_id"]) == {"1", "2"} and int(rows["documents"].sum()) == 6
    engine = make_engine(f"sqlite:///{tmp_path / 'no-crm.db'}")
    metadata.create_all(engine, tables=[t for name, t in metadata.tables.items() if not name.startswith("crm_")])
    try:
        populate(engine, with_crm=False)
        bare = load_metric(engine, "managers", SINCE, UNTIL)
        assert bare.sort_values(["manager_id", "stage"]).to_dict("records") == rows.sort_values(
            ["manager_id", "stage"]).to_dict("records")
    finally:
        engine.dispose()


def test_requirement_without_fallback_and_broken_sql(report_engine: Engine, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "needs.sql").write_text("-- requires: crm_nothing\nSELECT 1 AS one\n")
    (tmp_path / "broken.sql").write_text("SELECT nope FROM nowhere WHERE x >= :since\n")
    monkeypatch.setattr(queries_module, "SQL_DIR", tmp_path)
    with pytest.raises(ReportError, match="metric 'needs' needs tables crm_nothing, which do not exist"):
        load_metric(report_engine, "needs")
    with pytest.raises(ReportError, match="metric 'broken' failed: OperationalError: no such table: nowhere"):
        load_metric(report_engine, "broken", SINCE)


def test_run_queries(report_engine: Engine) -> None:
    batches = load_metric(report_engine, "run_batches", run_id=RUN_ID)
    assert list(batches["batch_id"]) == [f"{RUN_ID}#00000"] and int(batches["planned"].iloc[0]) == 6
    events = load_metric(report_engine, "run_events", run_id=RUN_ID)
    assert events["document_id"].nunique() == 6
    quarantined = load_metric(report_engine, "run_quarantine", run_id=RUN_ID)
    assert list(quarantined.itertuples(index=False, name=None)) == [
        ("106", "DOC-D6", "quarantined", "counterparty.name: missing")]
    assert load_metric(report_engine, "run_batches", run_id="other").empty
