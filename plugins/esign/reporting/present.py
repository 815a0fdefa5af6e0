"""How figures and tables look in the HTML reports: readable durations, percentages, tagged key figures.

Key figures carry ``data-figure`` attributes so tests (and anyone scraping a report) can find a number
without depending on the layout.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping

import pandas as pd


def format_duration(seconds: float | None) -> str:
    """``5.8 s``, ``12.3 min``, ``3.4 h``, ``2.1 days``; an en dash when there is nothing to measure."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "–"
    for limit, divisor, unit in ((60, 1, "s"), (3600, 60, "min"), (86400, 3600, "h")):
        if seconds < limit:
            return f"{seconds / divisor:.1f} {unit}"
    return f"{seconds / 86400:.1f} days"


def format_value(column: str, value: object) -> str:
    """One cell: durations for ``*_s``/``seconds`` columns, ``%`` for ``pct_*`` ones, ``–`` for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "–"
    if column.endswith("_s") or column == "seconds":
        return format_duration(float(value))  # type: ignore[arg-type]
    if column.startswith("pct_"):
        return f"{float(value):.1f}%"  # type: ignore[arg-type]
    if isinstance(value, pd.Timestamp):
        return str(value.strftime("%Y-%m-%d %H:%M:%S UTC"))
    return str(value)


_HEADINGS = {"median_s": "median", "p90_s": "p90", "pct_of_created": "% of created",
             "pct_of_previous": "% of previous step", "pct_signed": "% signed", "pct_completed": "% completed",
             "docs_per_second": "documents/s"}


def table_html(frame: pd.DataFrame, *, table_id: str, empty: str = "Nothing to show.") -> str:
    """An HTML table with formatted cells (``id`` for tests), or a short sentence when it has no rows."""
    if frame.empty:
        return f'<p class="empty" id="{html.escape(table_id)}">{html.escape(empty)}</p>'
    head = "".join(f"<th>{html.escape(_HEADINGS.get(str(c), str(c).replace('_', ' ')))}</th>"
                   for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f'<td data-column="{html.escape(str(c))}">{html.escape(format_value(str(c), v))}</td>'
                         for c, v in zip(frame.columns, row, strict=True)) + "</tr>"
        for row in frame.itertuples(index=False, name=None))
    return (f'<table class="esign" id="{html.escape(table_id)}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def figures_html(figures: Mapping[str, object], labels: Mapping[str, str]) -> str:
    """Key figures as a definition list; each value tagged ``data-figure="<name>"``."""
    items = "".join(
        f'<div class="figure"><dt>{html.escape(label)}</dt>'
        f'<dd data-figure="{html.escape(name)}">{html.escape(format_value(name, figures.get(name)))}</dd></div>'
        for name, label in labels.items())
    return f'<dl class="esign-figures">{items}</dl>'
