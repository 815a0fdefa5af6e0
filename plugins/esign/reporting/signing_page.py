"""The signing report's sections as HTML in the reader's language; ``notebooks/signing_report.ipynb`` shows them.

One function per section, each taking the computed :class:`~esign.reporting.report.SigningReport` and the reader's
translator: the numbers are computed once (``report.py``), the words come from the catalogue.
"""

from __future__ import annotations

import pandas as pd

from esign.i18n import N_, Translator
from esign.reporting import charts, labels
from esign.reporting.metrics import THROUGHPUT_KINDS
from esign.reporting.pages import SIGNING_TITLE, header, note, period_text, section
from esign.reporting.present import figures_html, table_html
from esign.reporting.report import SigningReport

KEY_FIGURES = ("created", "sent", "signed", "declined", "expired", "median_s", "p90_s", "pending", "past_expiry",
               "reminders_sent")
NO_SIGNATURE = N_("No document was signed in this period.")
NO_DOCUMENT = N_("No document in this period.")


def title(t: Translator, custom: str = "") -> str:
    return custom or t.gettext(SIGNING_TITLE)


def top(report: SigningReport, t: Translator, custom_title: str = "") -> str:
    """The title, the period and, for a quiet period, the sentence that says nothing happened."""
    html = header(title(t, custom_title), [period_text(report.since, report.until, t)], t)
    if not report.has_activity:
        html += note(t.gettext("No activity in this period: no document was created, sent, signed, declined or "
                                  "expired, and no signing request is waiting."), "no-activity")
    return html


def key_figures(report: SigningReport, t: Translator) -> str:
    return section("key-figures", t.gettext("Key figures"), t.gettext(
        "Events of the period, the typical time from sending the link to the client's signature, and the requests "
        "still waiting at the end of the period."), figures_html(report.figures, KEY_FIGURES, t))


def funnel(report: SigningReport, t: Translator) -> str:
    return section("funnel", t.gettext("Funnel"), t.gettext(
        "Documents created in the period and how many of them reached each stage so far. \"% of the previous "
        "stage\" compares with the stage above (a client may sign without a recorded view, so signatures are "
        "compared with links sent); the last rows are the ways out."),
        table_html(report.funnel, t, table_id="funnel"),
        charts.figure_html(charts.funnel_chart(report.funnel, t), figure_id="funnel-chart",
                           caption=t.gettext("Documents reaching each stage"), empty=t.gettext(NO_DOCUMENT)))


def signer_funnel(report: SigningReport, t: Translator) -> str:
    return section("signer-funnel", t.gettext("Signers"), t.gettext(
        "Every person asked to sign the documents created in the period, by role and position (1 is the client's "
        "first signer): how many were invited, opened their link, confirmed the code, signed, declined, or let the "
        "link expire."),
        table_html(report.signer_funnel, t, table_id="signer-funnel", empty=t.gettext(NO_DOCUMENT)))


def time_to_sign(report: SigningReport, t: Translator) -> str:
    empty = t.gettext(NO_SIGNATURE)
    return section("time-to-sign", t.gettext("Time to sign"), t.gettext(
        "From the moment the link went out to the client's signature, for documents signed in the period: by "
        "template and by channel."),
        table_html(report.by_template, t, table_id="time-by-template", empty=empty),
        table_html(report.by_channel_time, t, table_id="time-by-channel", empty=empty),
        charts.figure_html(
            charts.bar_chart(report.sign_histogram, "duration", "documents", t, xlabel=labels.heading("duration", t),
                             ylabel=labels.heading("documents", t)),
            figure_id="time-to-sign-chart", caption=t.gettext("Documents by time to sign"), empty=empty))


def channels(report: SigningReport, t: Translator) -> str:
    empty = t.gettext("No signing request in this period.")
    return section("channels", t.gettext("Channels"), t.gettext(
        "Signing requests created in the period by channel (e-mail or SMS) and what became of them."),
        table_html(report.channels, t, table_id="channels", empty=empty),
        charts.figure_html(charts.channel_chart(report.channels, t), figure_id="channel-chart",
                           caption=t.gettext("Signing requests by channel"), empty=empty))


def _manager_names(frame: pd.DataFrame, t: Translator) -> pd.DataFrame:
    """One "Manager" column: the CRM name, else "Manager <id>", else "(no manager)"."""
    if frame.empty:
        return frame.drop(columns=["manager_id"])
    names = [name if isinstance(name, str) and name else
             t.gettext(labels.MANAGER_BY_ID) % {"id": mid} if isinstance(mid, str) and mid else
             t.gettext(labels.NO_MANAGER)
             for mid, name in zip(frame["manager_id"], frame["manager"], strict=True)]
    return frame.drop(columns=["manager_id"]).assign(manager=names)


def _people_note(report: SigningReport, t: Translator) -> str:
    """Why names or departments are missing, when the CRM could not give them."""
    if report.people is not None and report.people.people_unread:
        return note(t.gettext("The CRM could not be reached for the managers' names: they are shown by their ID."),
                    "people-unread")
    if report.people is not None and report.people.structure_unread:
        return note(t.gettext("The CRM's company structure could not be read: departments are unknown."),
                    "structure-unread")
    return ""


def managers(report: SigningReport, t: Translator) -> str:
    empty = t.gettext(NO_DOCUMENT)
    return section("managers", t.gettext("Managers and departments"), t.gettext(
        "Documents created in the period by the deal's manager and department (names and departments as the CRM "
        "gives them)."),
        _people_note(report, t) + table_html(_manager_names(report.managers, t), t, table_id="managers",
                                             empty=empty),
        table_html(report.departments, t, table_id="departments", empty=empty,
                   placeholders={"department": labels.UNKNOWN_DEPARTMENT}))


def throughput(report: SigningReport, t: Translator) -> str:
    busy = report.throughput[report.throughput[list(THROUGHPUT_KINDS)].sum(axis=1) > 0]
    empty = t.gettext("No activity on any day of the period.")
    return section("throughput", t.gettext("Daily throughput"), t.gettext(
        "Documents created, links sent, client signatures, declines and expiries per day; the table lists the "
        "days with activity."),
        charts.figure_html(charts.throughput_chart(report.throughput, t), figure_id="throughput-chart",
                           caption=t.gettext("Events per day"), empty=empty),
        table_html(busy, t, table_id="throughput", empty=empty))


def problems(report: SigningReport, t: Translator) -> str:
    return section("problems", t.gettext("Declines, quarantine and failures"), t.gettext(
        "Why clients declined; deals set aside because their CRM data could not make a valid contract "
        "(quarantine) or documents that failed; messages that could not be delivered."),
        table_html(report.decline_reasons, t, table_id="decline-reasons",
                   empty=t.gettext("No client declined in this period."),
                   placeholders={"reason": labels.NO_DECLINE_REASON}),
        table_html(report.problems, t, table_id="problems",
                   empty=t.gettext("No document was quarantined or failed in this period."),
                   placeholders={"reason": labels.NO_REASON}),
        table_html(report.delivery_problems, t, table_id="delivery-problems",
                   empty=t.gettext("Every message went out."), placeholders={"error": labels.NO_ERROR}))


def pending(report: SigningReport, t: Translator) -> str:
    return section("pending", t.gettext("Pending requests (SLA)"), t.gettext(
        "Signing requests still open at the end of the period, by age. \"Past expiry\" are links whose deadline "
        "passed but that the collect run has not closed yet."),
        table_html(report.pending, t, table_id="pending"),
        charts.figure_html(
            charts.bar_chart(report.pending, "bucket", "requests", t, xlabel=labels.heading("bucket", t),
                             ylabel=labels.heading("requests", t)),
            figure_id="pending-chart", caption=t.gettext("Open requests by age"),
            empty=t.gettext("No signing request is waiting.")))


def reminders(report: SigningReport, t: Translator) -> str:
    return section("reminders", t.gettext("Reminders"), t.gettext(
        "Documents sent in the period: did the client sign without a reminder, after one, or not yet?"),
        table_html(report.reminders, t, table_id="reminders"))


#: The sections in page order (the notebook shows them one cell each).
SECTIONS = (key_figures, funnel, signer_funnel, time_to_sign, channels, managers, throughput, problems, pending,
            reminders)
