"""What the director reads in Airflow's *Required actions*: the approval request of a send run, in the company's
language (the run's summary, ``esign.pipeline.approval.summarize_run``, stays JSON for machines)."""

from __future__ import annotations

import re
from typing import Any

from esign.i18n import Translator
from esign.model.labels import stage_label
from esign.pipeline.services import Services


def approval_request(services: Services, summary: dict[str, Any]) -> dict[str, str]:
    """``subject`` and ``body`` (markdown) of the request, for the ``director_approval`` task."""
    return render_request(summary, services.ws.company.translator())


def render_request(summary: dict[str, Any], t: Translator) -> dict[str, str]:
    to_sign = int(summary.get("to_sign", 0))
    subject = t.gettext("Approve the contracts of run {run_id} for the company's signature").format(
        run_id=summary.get("run_id", "?"))
    lines = [t.ngettext("{count} document to sign, in {batches} batch(es).",
                        "{count} documents to sign, in {batches} batch(es).", to_sign).format(
        count=t.format_number(to_sign), batches=t.format_number(int(summary.get("batches", 0)))), ""]
    for stage, count in sorted((summary.get("stages") or {}).items()):
        lines.append(f"- {stage_label(stage, t)}: {t.format_number(int(count))}")
    carried = summary.get("carried_over") or {}
    if carried.get("batches"):
        taken_over = t.gettext("{batches} batch(es) taken over from earlier runs ({runs}); {approved} approved before.")
        lines += ["", taken_over.format(batches=carried["batches"], runs=_cell(", ".join(carried.get("from_runs", []))),
                                        approved=carried.get("approved_before", 0))]
    sample = summary.get("sample") or []
    if sample:
        header = " | ".join((t.gettext("Document"), t.gettext("Deal"), t.gettext("Title"), t.gettext("Client")))
        lines += ["", f"| {header} |", "|---|---|---|---|"]
        lines += ["| " + " | ".join(_cell(s.get(k)) for k in ("document", "deal", "title", "counterparty")) + " |"
                  for s in sample]
    return {"subject": subject, "body": "\n".join(lines)}


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")


def _cell(value: object) -> str:
    """Deal data (titles, client names) as plain text in the markdown the UI renders: no links, no markup."""
    return _MARKDOWN.sub(r"\\\1", " ".join(str(value if value is not None else "-").split()))
