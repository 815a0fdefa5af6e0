"""Report charts as PNG bytes, drawn with matplotlib's Agg canvas (no display, no global pyplot state)."""

from __future__ import annotations

from io import BytesIO

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

_COLORS = {"created": "#7f8c8d", "sent": "#2980b9", "signed": "#27ae60", "declined": "#c0392b",
           "expired": "#e67e22"}


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def funnel_chart(funnel: pd.DataFrame) -> bytes:
    """Horizontal bars, lifecycle order top to bottom."""
    fig = Figure(figsize=(7, 3.6))
    ax = fig.add_subplot()
    frame = funnel.iloc[::-1]
    ax.barh(frame["stage"], frame["documents"], color="#2980b9")
    for y, value in enumerate(frame["documents"]):
        ax.annotate(str(value), (value, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_xlabel("documents")
    ax.set_title("Documents reaching each stage")
    return _png(fig)


def throughput_chart(daily: pd.DataFrame) -> bytes:
    """One line per event kind, one point per day."""
    fig = Figure(figsize=(8, 3.4))
    ax = fig.add_subplot()
    for kind, color in _COLORS.items():
        ax.plot(pd.to_datetime(daily["day"]), daily[kind], marker="o", markersize=3, label=kind, color=color)
    ax.set_ylabel("documents per day")
    ax.set_title("Daily throughput (UTC days)")
    ax.legend(fontsize=8, ncols=5)
    fig.autofmt_xdate()
    return _png(fig)


def bar_chart(frame: pd.DataFrame, label: str, value: str, title: str, ylabel: str) -> bytes:
    """A plain bar chart of ``value`` by ``label`` (histograms, age buckets, reminder outcomes)."""
    fig = Figure(figsize=(7, 3.2))
    ax = fig.add_subplot()
    ax.bar(frame[label].astype(str), frame[value], color="#16a085")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.tick_params(axis="x", labelsize=8, labelrotation=15)
    return _png(fig)


def channel_chart(channels: pd.DataFrame) -> bytes:
    """Stacked bars per channel: signed, declined, expired, open."""
    fig = Figure(figsize=(6, 3))
    ax = fig.add_subplot()
    bottom = pd.Series(0, index=channels.index)
    for status, color in (("signed", "#27ae60"), ("declined", "#c0392b"), ("expired", "#e67e22"),
                          ("open", "#95a5a6"), ("canceled", "#7f8c8d")):
        ax.bar(channels["channel"], channels[status], bottom=bottom, label=status, color=color)
        bottom = bottom + channels[status]
    ax.set_ylabel("requests")
    ax.set_title("Signing requests by channel")
    ax.legend(fontsize=8)
    return _png(fig)


def step_chart(steps: pd.DataFrame) -> bytes:
    """Seconds per pipeline step of one run."""
    frame = steps.dropna(subset=["seconds"])
    fig = Figure(figsize=(6, 3))
    ax = fig.add_subplot()
    ax.bar(frame["step"], frame["seconds"], color="#8e44ad")
    ax.set_ylabel("seconds")
    ax.set_title("Time per step")
    return _png(fig)
