"""The register's query string, read and checked: filters, page, and what was wrong with them.

A bad value is never silently ignored (a filter that quietly does nothing shows the wrong documents): each
problem is named with its field, in the reader's language, and the search does not run until it is fixed.
Dates are days in the company's time zone, typed as 2026-12-04 (the browser's date field) or 04/12/2026.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from esign.i18n import Translator
from esign.model import Stage
from esign.model.labels import stages_matching
from esign.register.folding import fold
from esign.register.queries import DocumentFilter

PER_PAGE_CHOICES = (25, 50, 100, 200)
DEFAULT_PER_PAGE = 50
#: Query-string names of the filters, as the page's form and the API use them.
FILTER_NAMES = ("q", "stage", "deal", "manager", "template", "run", "batch", "from", "to")


@dataclass(frozen=True, slots=True)
class Query:
    """What the query string asked for: the filter, the page, the raw values (to refill the form)."""

    filters: DocumentFilter
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def link(self, **changes: object) -> str:
        """The query string of this search with some values changed (paging links, the CSV export)."""
        from urllib.parse import urlencode

        values = {**self.values, "per_page": str(self.per_page), "page": str(self.page)}
        values.update({k: str(v) for k, v in changes.items()})
        return urlencode({k: v for k, v in values.items() if v and not (k == "page" and v == "1")
                          and not (k == "per_page" and v == str(DEFAULT_PER_PAGE))})


def parse_date(text: str) -> date | None:
    """``2026-12-04`` or ``04/12/2026`` (day first, as Brazil writes it); None when it is neither."""
    text = text.strip()
    try:
        if "/" in text:
            day, month, year = (int(part) for part in text.split("/"))
            if year < 1000:
                return None
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        return None


def _day_start(day: date, t: Translator) -> datetime:
    return datetime.combine(day, time.min, tzinfo=t.zone).astimezone(UTC)


def read_query(params: Mapping[str, str], t: Translator) -> Query:
    """Check every parameter; the filter of the valid ones and a message per invalid one."""
    values = {name: params.get(name, "").strip() for name in FILTER_NAMES}
    if not values["q"] and params.get("counterparty", "").strip():  # the earlier name of the text search
        values["q"] = params["counterparty"].strip()
    errors: dict[str, str] = {}
    stages: tuple[Stage, ...] = ()
    if values["stage"]:
        stages = tuple(stages_matching(values["stage"], t, fold))
        if not stages:
            errors["stage"] = t.gettext("Stage: no stage is called “%(value)s”.") % {"value": values["stage"]}
    days: dict[str, date | None] = {}
    for name in ("from", "to"):
        days[name] = parse_date(values[name]) if values[name] else None
        if values[name] and days[name] is None:
            message = (t.gettext("Created from: “%(value)s” is not a date; write it as DD/MM/YYYY.") if name == "from"
                       else t.gettext("Created until: “%(value)s” is not a date; write it as DD/MM/YYYY."))
            errors[name] = message % {"value": values[name]}
    start, end = days["from"], days["to"]
    if start and end and start > end:
        errors["to"] = t.gettext("Created until: %(until)s is before the start date %(since)s.") % {
            "until": t.format_date(end), "since": t.format_date(start)}
    page, per_page = _paging(params, t, errors)
    filters = DocumentFilter(
        text=values["q"], stages=stages, deal=values["deal"], manager=values["manager"],
        template=values["template"], run=values["run"], batch=values["batch"],
        created_from=_day_start(start, t) if start else None,
        created_until=_day_start(end + timedelta(days=1), t) if end else None)
    return Query(filters, page, per_page, values, errors)


def _paging(params: Mapping[str, str], t: Translator, errors: dict[str, str]) -> tuple[int, int]:
    page_text, size_text = params.get("page", "1").strip() or "1", params.get("per_page", "").strip()
    page = int(page_text) if page_text.isdigit() and int(page_text) >= 1 else 0
    if not page:
        errors["page"] = t.gettext("Page: “%(value)s” is not a page number.") % {"value": page_text}
        page = 1
    per_page = DEFAULT_PER_PAGE
    if size_text:
        if size_text.isdigit() and int(size_text) in PER_PAGE_CHOICES:
            per_page = int(size_text)
        else:
            choices = ", ".join(str(n) for n in PER_PAGE_CHOICES)
            errors["per_page"] = t.gettext("Per page: choose %(choices)s.") % {"choices": choices}
    return page, per_page
