"""Every code a report shows has its words: stages, channels, columns, steps, counters, message kinds and states."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from esign.dispatch.labels import channel_label
from esign.dispatch.records import Channel, MessageKind, OutboxState
from esign.dispatch.registry import channel_names
from esign.i18n import SUPPORTED_LOCALES, translator
from esign.model import Stage
from esign.model.labels import STAGE_LABELS, stage_label
from esign.reporting import build_run_report, build_signing_report, labels
from esign.reporting.report import RUN_STEPS
from esign.reporting.signing_page import _manager_names

from .conftest import RUN_ID, SINCE, UNTIL


def test_every_stage_and_channel_has_a_label() -> None:
    assert set(STAGE_LABELS) == set(Stage) and {c.value for c in Channel} <= set(channel_names())
    pt, es = translator("pt_BR"), translator("es")
    assert channel_label("email", es) == "Correo electrónico" and channel_label(Channel.SMS, pt) == "SMS"
    assert stage_label(Stage.SENT, pt) == "Enviado" and stage_label("quarantined", es) == "En cuarentena"
    assert stage_label("someday", pt) == "someday" and channel_label("fax", pt) == "fax"
    assert len({stage_label(s, pt) for s in Stage}) == len(Stage)  # no two stages read alike


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_column_a_report_shows_has_a_heading(report_engine: Engine, locale: str) -> None:
    t = translator(locale)
    report = build_signing_report(report_engine, SINCE, UNTIL)
    run = build_run_report(report_engine, RUN_ID)
    frames = [report.funnel, report.by_template, report.by_channel_time, report.sign_histogram, report.channels,
              _manager_names(report.managers, t), report.departments, report.throughput, report.decline_reasons,
              report.problems, report.delivery_problems, report.pending, report.reminders, run.steps,
              run.quarantined]
    columns = {str(c) for frame in frames for c in frame.columns}
    columns |= {"batch", "first_id", "last_id", "planned", "approved_by", "approved_at", "counts"}  # run_page
    assert columns - set(labels.headings(t)) == set()  # the catalogue tests check each heading is translated


def test_every_step_counter_message_kind_and_state_has_words() -> None:
    t = translator()
    assert set(labels.step_names(t)) == {step for step, _ in RUN_STEPS}
    assert set(labels.message_kinds(t)) == {k.value for k in MessageKind}
    assert {OutboxState.FAILED.value, OutboxState.UNCERTAIN.value} <= set(labels.message_states(t))
    assert labels.counts_text({"prepared": 5, "quarantined": 1, "brand_new": 2}, t) == (
        "preparados 5, em quarentena 1, brand_new 2")
    assert labels.approver_text("director:helena", t) == "diretoria: helena"
    assert labels.approver_text("someone else", t) == "someone else"
