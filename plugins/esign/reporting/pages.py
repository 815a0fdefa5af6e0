"""Pieces every report page shares: its one title, the period or run it covers, sections with a heading.

The notebooks display what these functions return, so every word of a published report comes from the catalogue.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, time, timedelta

from esign.i18n import N_, Translator

SIGNING_TITLE = N_("Signing report")
RUN_TITLE = N_("Run report")
DAY = N_("Day %(day)s")
DAYS = N_("From %(first)s to %(last)s")
MOMENTS = N_("From %(start)s to %(end)s (end excluded)")
ZONE_NOTE = N_("Dates and times in the %(zone)s time zone.")
RUN_KINDS = {
    "manual": N_("Manual run of %(when)s"),
    "scheduled": N_("Scheduled run of %(when)s"),
    "asset_triggered": N_("Run started by new data, %(when)s"),
    "backfill": N_("Backfill run of %(when)s"),
}
RUN_OTHER = N_("Run %(id)s")
_AIRFLOW_RUN = re.compile(r"^(?P<kind>[a-z_]+?)__(?P<when>\d{4}-\d\d-\d\dT[\d:.]+(?:[+-]\d\d:\d\d|Z)?)")


def period_text(since: datetime, until: datetime, t: Translator) -> str:
    """The days a report covers in the reader's zone (``De 01/03/2026 a 07/03/2026``), or its exact moments."""
    start, end = t.local(since), t.local(until)
    if start.time() == time() and end.time() == time():
        first, last = start.date(), (end - timedelta(days=1)).date()
        if first == last:
            return t.gettext(DAY) % {"day": t.format_date(first)}
        return t.gettext(DAYS) % {"first": t.format_date(first), "last": t.format_date(last)}
    return t.gettext(MOMENTS) % {"start": t.format_datetime(since), "end": t.format_datetime(until)}


def run_label(run_id: str, t: Translator) -> str:
    """An Airflow run ID as a person reads it: ``Execução manual de 04/12/2026 17:32 (UTC-03:00)``."""
    match = _AIRFLOW_RUN.match(run_id)
    if match and match.group("kind") in RUN_KINDS:
        try:
            when = datetime.fromisoformat(match.group("when").replace("Z", "+00:00"))
        except ValueError:
            return t.gettext(RUN_OTHER) % {"id": run_id}
        return t.gettext(RUN_KINDS[match.group("kind")]) % {"when": t.format_datetime(when)}
    return t.gettext(RUN_OTHER) % {"id": run_id}


def header(title: str, lines: list[str], t: Translator) -> str:
    """The page's only ``<h1>`` with the lines that say what it covers, and the time zone note."""
    zone = t.gettext(ZONE_NOTE) % {"zone": t.timezone}
    body = "".join(f'<p class="subtitle">{html.escape(line)}</p>' for line in lines)
    return (f'<header class="report-header"><h1>{html.escape(title)}</h1>{body}'
            f'<p class="zone">{html.escape(zone)}</p></header>')


def section(section_id: str, heading: str, intro: str, *parts: str) -> str:
    """One section: an ``<h2>``, a sentence on what it shows, then its tables and charts (already HTML).

    The heading, the sentence and the first part are kept on one printed page (``div.lead``): a heading must
    not end a page while its chart starts the next.
    """
    intro_html = f'<p class="intro">{html.escape(intro)}</p>' if intro else ""
    first, rest = (parts[0], parts[1:]) if parts else ("", ())
    return (f'<section id="{html.escape(section_id)}"><div class="lead"><h2>{html.escape(heading)}</h2>'
            f"{intro_html}{first}</div>{''.join(rest)}</section>")


def note(text: str, note_id: str) -> str:
    return f'<p class="note" id="{html.escape(note_id)}"><strong>{html.escape(text)}</strong></p>'
