"""The run report's sections as HTML in the reader's language; ``notebooks/run_report.ipynb`` shows them."""

from __future__ import annotations

import json

import pandas as pd

from esign.i18n import Translator
from esign.reporting import charts, labels
from esign.reporting.pages import RUN_TITLE, header, note, run_label, section
from esign.reporting.present import figures_html, table_html
from esign.reporting.report import RunReport

SUMMARY_FIGURES = ("batches", "planned", "documents", "quarantined", "failed", "seconds", "docs_per_second",
                   "approved_by")


def title(t: Translator, custom: str = "") -> str:
    return custom or t.gettext(RUN_TITLE)


def top(report: RunReport, t: Translator, custom_title: str = "") -> str:
    """The title, which run (as a person reads it, then its ID) and a sentence when the run left no batch."""
    html = header(title(t, custom_title), [run_label(report.run_id, t),
                                          t.gettext("Airflow run ID: %(id)s") % {"id": report.run_id}], t)
    if not report.found:
        html += note(t.gettext("No activity for this run: no batch was recorded."), "no-activity")
    return html


def summary(report: RunReport, t: Translator) -> str:
    return section("summary", t.gettext("Summary"), t.gettext(
        "The duration runs from the first batch to the last write of the run, the wait for the director's "
        "approval included; documents per second are over that duration."),
        figures_html(report.figures, SUMMARY_FIGURES, t))


def steps(report: RunReport, t: Translator) -> str:
    return section("steps", t.gettext("Steps"), t.gettext(
        "What each step did (summed over the batches) and how long it took: from the end of the step before it "
        "to its own end, from the first batch to the last (batches run side by side, so steps may overlap)."),
        table_html(report.steps, t, table_id="steps"),
        charts.figure_html(charts.step_chart(report.steps, t), figure_id="steps-chart",
                           caption=t.gettext("Time per step"),
                           empty=t.gettext("No step of this run has a recorded duration.")))


def batches(report: RunReport, t: Translator) -> str:
    frame = report.batches
    if not frame.empty:
        frame = pd.DataFrame({
            "batch": [_batch_number(b) for b in frame["batch_id"]], "first_id": frame["first_id"],
            "last_id": frame["last_id"], "planned": frame["planned"], "approved_by": frame["approved_by"],
            "approved_at": frame["approved_at"],
            "counts": [_step_counts(raw, t) for raw in frame["counts_json"]],
        })
    return section("batches", t.gettext("Batches"), t.gettext(
        "The deals of the run cut into ID ranges, each prepared and delivered on its own."),
        table_html(frame, t, table_id="batches", empty=t.gettext("No batch.")))


def quarantined(report: RunReport, t: Translator) -> str:
    return section("quarantined", t.gettext("Quarantined and failed deals"), t.gettext(
        "Deals set aside because their CRM data could not make a valid contract, and documents that failed, with "
        "the reason."),
        table_html(report.quarantined, t, table_id="quarantined",
                   empty=t.gettext("No deal was set aside in this run."), placeholders={"reason": labels.NO_REASON}))


def _batch_number(batch_id: str) -> int | str:
    """``<run_id>#00003`` is the run's fourth batch."""
    suffix = str(batch_id).rsplit("#", 1)[-1]
    return int(suffix) + 1 if suffix.isdigit() else str(batch_id)


def _step_counts(raw: str | None, t: Translator) -> str:
    """A batch's ``counts_json`` as ``Step: counter n, ...; Step: ...``."""
    data = json.loads(raw or "{}") or {}
    steps = labels.step_names(t)
    return "; ".join(f"{steps.get(step, step)}: {labels.counts_text(counts, t) or '–'}"
                     for step, counts in data.items())


#: The sections in page order.
SECTIONS = (summary, steps, batches, quarantined)
