"""How figures and tables read in the HTML reports: the reader's language, numbers and dates by locale.

Every cell is written through the reader's :class:`~esign.i18n.Translator`: headings and coded values through the
catalogue (``esign.reporting.labels``), numbers and percentages by locale, times in the company's zone. Numbers
are right-aligned and text left-aligned (``class="num"``/``"text"`` on the cells, styled by the page template).
Key figures and cells carry their machine value in ``data-*`` attributes so tests (and anyone scraping a report)
can read a number without depending on the layout or the language.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from datetime import datetime

import pandas as pd
from babel.dates import format_time

from esign.i18n import N_, Translator
from esign.reasons import describe_reason
from esign.reporting import labels

#: Columns shown right-aligned: counts of things (durations and percentages by their names' suffix and prefix).
_PERCENT_PREFIX = "pct_"
_DURATION_SUFFIX = "_s"
_NUMERIC = frozenset({"documents", "signed", "requests", "open", "declined", "expired", "canceled", "completed",
                      "created", "sent", "messages", "count", "past_expiry", "docs_per_second", "first_id",
                      "last_id", "planned", "batch", "position", "signers", "invited", "viewed", "confirmed"})

_MOMENTS = frozenset({"started", "finished", "approved_at"})

SECONDS = N_("%(value)s s")
MINUTES = N_("%(value)s min")
HOURS = N_("%(value)s h")
DAYS = N_("%(value)s days")
NOTHING_TO_SHOW = N_("Nothing to show.")


def _missing(value: object) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def format_duration(seconds: float | None, t: Translator) -> str:
    """``5,8 s``, ``12,3 min``, ``3,4 h``, ``2,1 dias``; an en dash when there is nothing to measure."""
    if seconds is None or _missing(seconds):
        return "–"
    for limit, divisor, unit in ((60, 1, SECONDS), (3600, 60, MINUTES), (86400, 3600, HOURS)):
        if seconds < limit:
            return t.gettext(unit) % {"value": t.format_number(seconds / divisor, decimals=1)}
    return t.gettext(DAYS) % {"value": t.format_number(seconds / 86400, decimals=1)}


def moment_text(value: datetime, t: Translator) -> str:
    """A time in a table: date and time with seconds in the reader's zone; the page's header names the zone."""
    local = t.local(value)
    return f"{t.format_date(local)} {format_time(local, 'medium', locale=t.locale)}"


def is_numeric(column: str) -> bool:
    return column in _NUMERIC or column.startswith(_PERCENT_PREFIX) or is_duration(column)


def is_duration(column: str) -> bool:
    return column.endswith(_DURATION_SUFFIX) or column == "seconds"


def format_value(column: str, value: object, t: Translator) -> str:
    """One cell or key figure as the reader reads it; ``–`` when the value is missing."""
    if _missing(value):
        return "–"
    if is_duration(column):
        return format_duration(float(value), t)  # type: ignore[arg-type]
    if column.startswith(_PERCENT_PREFIX):
        return t.format_percent(float(value) / 100, decimals=1)  # type: ignore[arg-type]
    if isinstance(value, datetime):  # pandas Timestamps too: the ledger's UTC in the company's zone
        return moment_text(value, t)
    if column == "day" and hasattr(value, "isoformat"):
        return t.format_date(value)  # type: ignore[arg-type]
    if column == "counts" and isinstance(value, Mapping):
        return labels.counts_text(dict(value), t) or "–"
    coded = labels.code_text(column, value, t)
    if coded is not None:
        return coded
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float) and column not in ("first_id", "last_id", "batch"):
        return t.format_number(value)
    if column == "reason" and isinstance(value, str):  # a quarantine reason is stored in English
        return describe_reason(value, t)
    return str(value)


def _cell_class(column: str) -> str:
    if is_numeric(column):
        return "num"
    return "text moment" if column in _MOMENTS else "text"


def _machine(value: object) -> str:
    if _missing(value):
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def table_html(frame: pd.DataFrame, t: Translator, *, table_id: str, empty: str | None = None,
               placeholders: Mapping[str, str] | None = None) -> str:
    """An HTML table in the reader's language (``id`` for tests), or a short sentence when it has no rows.

    ``placeholders`` words a missing value per column (``{"reason": labels.NO_REASON}``) instead of a dash.
    """
    if frame.empty:
        text = empty if empty is not None else t.gettext(NOTHING_TO_SHOW)
        return f'<p class="empty" id="{html.escape(table_id)}">{html.escape(text)}</p>'
    columns = [str(c) for c in frame.columns]
    head = "".join(f'<th scope="col" class="{_cell_class(c)}">{html.escape(labels.heading(c, t))}</th>'
                   for c in columns)
    rows = []
    for row in frame.itertuples(index=False, name=None):
        cells = []
        for column, value in zip(columns, row, strict=True):
            shown = (t.gettext(placeholders[column]) if placeholders and column in placeholders
                     and _missing(value) else format_value(column, value, t))
            cells.append(f'<td class="{_cell_class(column)}" data-column="{html.escape(column)}" '
                         f'data-value="{html.escape(_machine(value))}">{html.escape(shown)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="esign" id="{html.escape(table_id)}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def figures_html(figures: Mapping[str, object], names: Sequence[str], t: Translator) -> str:
    """Key figures ``names`` as a definition list, each value tagged ``data-figure="<name>"`` (machine value in
    ``data-value``)."""
    words = labels.figure_names(t)
    items = "".join(
        f'<div class="figure"><dt>{html.escape(words.get(name, name))}</dt>'
        f'<dd data-figure="{html.escape(name)}" data-value="{html.escape(_machine(figures.get(name)))}">'
        f"{html.escape(format_value(name, figures.get(name), t))}</dd></div>"
        for name in names)
    return f'<dl class="esign-figures">{items}</dl>'
