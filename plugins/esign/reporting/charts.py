"""Report charts drawn with matplotlib's Agg canvas (no display, no global pyplot state), in the reader's language.

Each chart function returns a :class:`~matplotlib.figure.Figure`, or ``None`` when there is nothing to draw:
the page then says so in a sentence instead of showing an empty axis. Legends sit outside the plot so they never
cover the data; date axes carry a few day labels in the reader's format so they never overlap.
"""

from __future__ import annotations

import base64
import html
import struct
from io import BytesIO

import pandas as pd
from babel.dates import format_skeleton
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from esign.dispatch.labels import channel_label
from esign.i18n import N_, Translator
from esign.reporting import labels
from esign.reporting.metrics import THROUGHPUT_KINDS
from esign.reporting.present import format_duration

DPI = 150
#: CSS pixels per inch: a chart is shown at its drawn size, its PNG holds DPI/96 times more pixels (sharp print).
CSS_DPI = 96
_KIND_COLORS = {"created": "#7f8c8d", "sent": "#2980b9", "signed": "#27ae60", "declined": "#c0392b",
                "expired": "#e67e22"}
_STATUS_COLORS = (("signed", "#27ae60"), ("declined", "#c0392b"), ("expired", "#e67e22"), ("open", "#95a5a6"),
                  ("canceled", "#34495e"))
_BAR = "#2980b9"
DURATION_AXIS = N_("Duration (%(unit)s)")
MAX_DAY_LABELS = 8


def _new(width: float, height: float) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def funnel_chart(funnel: pd.DataFrame, t: Translator) -> Figure | None:
    """Horizontal bars of documents per stage, lifecycle order top to bottom; None when no document."""
    if not funnel["documents"].astype(int).any():
        return None
    fig, ax = _new(7, 3.8)
    frame = funnel.iloc[::-1]
    names = [labels.code_text("stage", s, t) or str(s) for s in frame["stage"]]
    bars = ax.barh(names, frame["documents"].astype(int), color=_BAR)
    ax.bar_label(bars, labels=[t.format_number(int(v)) for v in frame["documents"]], padding=3, fontsize=8)
    ax.set_xlabel(labels.heading("documents", t))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: t.format_number(int(v))))
    return fig


def throughput_chart(daily: pd.DataFrame, t: Translator) -> Figure | None:
    """One line per event kind, one point per day (the company's days); None when nothing happened."""
    if not daily[list(THROUGHPUT_KINDS)].to_numpy().any():
        return None
    fig, ax = _new(8, 3.6)
    days = pd.to_datetime(daily["day"])
    for kind in THROUGHPUT_KINDS:
        ax.plot(days, daily[kind], marker="o", markersize=3, label=labels.heading(kind, t), color=_KIND_COLORS[kind])
    # at most MAX_DAY_LABELS labels, every `step` days from the first: a locator by month days would restart on
    # the 1st and put "31/03" and "01/04" on top of each other
    step = next(s for s in (1, 2, 3, 4, 5, 7, 14, 28, 56) if len(days) <= s * MAX_DAY_LABELS)
    ax.set_xticks(mdates.date2num(days[::step]))  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda v, _: format_skeleton("dM", mdates.num2date(v).date(), locale=t.locale)))  # type: ignore[no-untyped-call]
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(t.gettext(N_("Documents per day")))
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=len(THROUGHPUT_KINDS), frameon=False,
              fontsize=8)
    return fig


def bar_chart(frame: pd.DataFrame, label: str, value: str, t: Translator, *, xlabel: str,
              ylabel: str) -> Figure | None:
    """Vertical bars of ``value`` by ``label`` (coded values, shown through their labels); None when all are 0."""
    if not frame[value].astype(int).any():
        return None
    fig, ax = _new(7, 3.2)
    names = [labels.code_text(label, v, t) or str(v) for v in frame[label]]
    bars = ax.bar(names, frame[value].astype(int), color=_BAR)
    ax.bar_label(bars, labels=[t.format_number(int(v)) for v in frame[value]], padding=2, fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(axis="x", labelsize=8)
    return fig


def channel_chart(channels: pd.DataFrame, t: Translator) -> Figure | None:
    """Stacked bars per channel (signed, declined, expired, open, canceled); legend beside the plot."""
    if channels.empty or not channels["requests"].astype(int).any():
        return None
    fig, ax = _new(6.5, 3)
    names = [channel_label(str(c), t) for c in channels["channel"]]
    bottom = pd.Series(0, index=channels.index)
    for status, color in _STATUS_COLORS:
        ax.bar(names, channels[status], bottom=bottom, label=labels.heading(status, t), color=color, width=0.6)
        bottom = bottom + channels[status]
    ax.set_ylabel(labels.heading("requests", t))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False, fontsize=8)
    return fig


def step_chart(steps: pd.DataFrame, t: Translator) -> Figure | None:
    """How long each step of a run took (horizontal bars, run order top to bottom); None when none was timed."""
    frame = steps[steps["seconds"].notna() & (steps["seconds"].astype(float) > 0)].iloc[::-1]
    if frame.empty:
        return None
    longest = float(frame["seconds"].max())
    divisor, unit = (3600, "h") if longest >= 7200 else (60, "min") if longest >= 120 else (1, "s")
    fig, ax = _new(7, 0.5 * len(frame) + 1.2)
    bars = ax.barh([labels.code_text("step", s, t) or str(s) for s in frame["step"]],
                   frame["seconds"].astype(float) / divisor, color="#8e44ad")
    ax.bar_label(bars, labels=[format_duration(float(s), t) for s in frame["seconds"]], padding=3, fontsize=8)
    ax.set_xlabel(t.gettext(DURATION_AXIS) % {"unit": unit})
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: t.format_number(v)))
    ax.margins(x=0.15)
    return fig


def png(fig: Figure) -> bytes:
    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def figure_html(fig: Figure | None, *, caption: str, empty: str, figure_id: str) -> str:
    """The chart as an ``<img>`` with its caption as alternative text, or the ``empty`` sentence without one."""
    if fig is None:
        return f'<p class="empty chart-empty" id="{html.escape(figure_id)}">{html.escape(empty)}</p>'
    data = png(fig)
    width_px = struct.unpack(">I", data[16:20])[0]  # the PNG's IHDR width
    css_width = round(width_px * CSS_DPI / DPI)
    source = base64.b64encode(data).decode("ascii")
    return (f'<figure class="chart" id="{html.escape(figure_id)}">'
            f'<img src="data:image/png;base64,{source}" width="{css_width}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")
