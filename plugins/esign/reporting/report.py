"""Everything one report shows, computed once from the metric queries (the notebooks only display it)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from esign.i18n import DEFAULT_TIMEZONE
from esign.reporting import metrics
from esign.reporting.people import ManagerNames
from esign.reporting.queries import as_utc, load_metric

#: The steps of an esign_send run in order, with the events whose last timestamp ends the step in a batch.
#: ``approval`` and ``crm`` have no document event: the batch row's ``approved_at`` and last update end them.
RUN_STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("prepare", ("created", "quarantined")),
    ("approval", ()),
    ("sign", ("company_signed",)),
    ("dispatch", ("sent",)),
    ("crm", ()),
)


@dataclass
class SigningReport:
    """The tables of the daily signing report for ``[since, until)``, and its key figures."""

    since: datetime
    until: datetime
    funnel: pd.DataFrame
    timed: pd.DataFrame
    by_template: pd.DataFrame
    by_channel_time: pd.DataFrame
    sign_histogram: pd.DataFrame
    channels: pd.DataFrame
    managers: pd.DataFrame
    departments: pd.DataFrame
    throughput: pd.DataFrame
    decline_reasons: pd.DataFrame
    problems: pd.DataFrame
    delivery_problems: pd.DataFrame
    pending: pd.DataFrame
    reminders: pd.DataFrame
    timezone: str = DEFAULT_TIMEZONE
    figures: dict[str, float | int | None] = field(default_factory=dict)
    people: ManagerNames | None = None  # the CRM's answer; None: the CRM was not asked (managers by ID)
    #: per role and position of the signers: invited, viewed, confirmed the code, signed, declined, expired
    signer_funnel: pd.DataFrame = field(default_factory=lambda: metrics.signer_funnel_table(pd.DataFrame()))

    def metrics_json(self) -> str:
        """The period, the key figures and the per-signer funnel as JSON with English keys (for other tools)."""
        funnel = [{key: (int(value) if key != "role" else str(value)) for key, value in row.items()}
                  for row in self.signer_funnel.to_dict(orient="records")]
        return json.dumps({"since": self.since.isoformat(), "until": self.until.isoformat(),
                           "figures": self.figures, "signer_funnel": funnel}, sort_keys=True)

    @property
    def has_activity(self) -> bool:
        """False for a fresh install or a quiet period: nothing happened and nothing is pending."""
        return bool(self.throughput[list(metrics.THROUGHPUT_KINDS)].to_numpy().sum()) or bool(
            self.pending["requests"].sum())


def build_signing_report(engine: Engine, since: datetime, until: datetime, now: datetime | None = None,
                         timezone: str = DEFAULT_TIMEZONE, people: ManagerNames | None = None) -> SigningReport:
    """Run every metric for the period; pending ages are measured at ``until`` (or ``now`` if earlier).

    ``timezone`` (the company's) decides which day an event counts for in the daily throughput. ``people`` are
    the managers' names and departments as the CRM gave them (:func:`esign.reporting.people.ask_crm`).
    """
    since, until = as_utc(since), as_utc(until)
    as_of = min(until, as_utc(now or datetime.now(UTC)))

    def load(name: str) -> pd.DataFrame:
        return load_metric(engine, name, since, until)

    timed = metrics.with_durations(load("time_to_sign"))
    known = people or ManagerNames()
    managers = metrics.with_people(load("managers"), known.names, known.departments)
    throughput = metrics.throughput_daily(load("throughput"), since, until, timezone)
    pending = metrics.pending_buckets(load("pending_requests"), as_of)
    reminders = load("reminders")
    funnel = metrics.funnel_table(load("funnel"))
    signer_funnel = metrics.signer_funnel_table(load("signer_funnel"))
    stats = metrics.duration_stats(timed["seconds"])
    totals = {kind: int(throughput[kind].sum()) for kind in metrics.THROUGHPUT_KINDS}
    counts = dict(zip(funnel["stage"], funnel["documents"], strict=True))
    figures: dict[str, float | int | None] = {
        **totals,
        "completed_of_created": int(counts["completed"]),
        "quarantined_of_created": int(counts["quarantined"]),
        "median_s": stats["median_s"], "p90_s": stats["p90_s"],
        "pending": int(pending["requests"].sum()), "past_expiry": int(pending["past_expiry"].sum()),
        "reminders_sent": int(reminders["reminders"].sum()) if len(reminders) else 0,
        "signers": int(signer_funnel["signers"].sum()), "signers_signed": int(signer_funnel["signed"].sum()),
    }
    return SigningReport(
        since=since, until=until, funnel=funnel, timed=timed,
        by_template=metrics.stats_by(timed, "template_id", "template"),
        by_channel_time=metrics.stats_by(timed, "channel"),
        sign_histogram=metrics.histogram(timed["seconds"]).rename(columns={"bucket": "duration",
                                                                           "count": "documents"}),
        channels=metrics.channel_table(load("channels")),
        managers=metrics.manager_table(managers, timed, "manager"),
        departments=metrics.manager_table(managers, timed, "department"),
        throughput=throughput, decline_reasons=load("decline_reasons"), problems=load("problems"),
        delivery_problems=load("delivery_problems"), pending=pending,
        reminders=metrics.reminder_effect(reminders), timezone=timezone, figures=figures, people=people,
        signer_funnel=signer_funnel,
    )


@dataclass
class RunReport:
    """One esign_send run: its batches, per-step counts and timing, and the deals it set aside."""

    run_id: str
    batches: pd.DataFrame
    steps: pd.DataFrame
    quarantined: pd.DataFrame
    figures: dict[str, float | int | str | None] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return not self.batches.empty


def build_run_report(engine: Engine, run_id: str) -> RunReport:
    """Counts per step from ``counts_json`` summed over the batches; time per step from the batches' milestones.

    The ledger stamps a group of documents with one time when it records the group, so the spread of one step's
    events says nothing about how long the step took. A step lasts, in each batch, from the end of the step
    before it (the batch's creation for the first) to its own end; the run's row for a step spans from its first
    start to its last end over the batches (batches run in parallel, so steps of a run may overlap).
    """
    batches = load_metric(engine, "run_batches", run_id=run_id)
    events = load_metric(engine, "run_events", run_id=run_id)
    quarantined = load_metric(engine, "run_quarantine", run_id=run_id)
    counts = [json.loads(raw or "{}") or {} for raw in batches.get("counts_json", [])]
    totals: dict[str, dict[str, int]] = {}
    for batch_counts in counts:
        for step, step_counts in batch_counts.items():
            bucket = totals.setdefault(step, {})
            for key, value in step_counts.items():
                bucket[key] = bucket.get(key, 0) + int(value)
    spans = _step_spans(batches, counts, events)
    steps = []
    for step, actions in RUN_STEPS:
        documents = int(events.loc[events["action"].isin(actions), "document_id"].nunique()) if actions else None
        started, finished = spans.get(step, (None, None))
        seconds = (finished - started).total_seconds() if started is not None and finished is not None else None
        steps.append({
            "step": step, "counts": totals.get(step, {}), "documents": documents, "started": started,
            "finished": finished, "seconds": seconds,
            "docs_per_second": round(documents / seconds, 2) if seconds and documents else None,
        })
    documents = int(events["document_id"].nunique())
    send_events = events[events["action"].isin([a for _, actions in RUN_STEPS for a in actions])]
    start = batches["created_at"].min() if len(batches) else None
    end = max([t for t in (send_events["at"].max() if len(send_events) else None,
                           batches["updated_at"].max() if len(batches) else None) if t is not None], default=None)
    seconds = (end - start).total_seconds() if start is not None and end is not None else None
    figures: dict[str, float | int | str | None] = {
        "batches": len(batches), "planned": int(batches["planned"].sum()) if len(batches) else 0,
        "documents": documents, "quarantined": int((quarantined["stage"] == "quarantined").sum()),
        "failed": int((quarantined["stage"] == "failed").sum()), "seconds": seconds,
        "docs_per_second": round(documents / seconds, 2) if seconds else None,
        "approved_by": ", ".join(sorted({str(a) for a in batches.get("approved_by", []) if pd.notna(a)})) or None,
    }
    return RunReport(run_id=run_id, batches=batches, steps=pd.DataFrame(steps), quarantined=quarantined,
                     figures=figures)


def _step_spans(batches: pd.DataFrame, counts: list[dict[str, Any]],
                events: pd.DataFrame) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    """Per step, the first start and the last end over the run's batches (only steps that ended somewhere)."""
    last_event = events.groupby(["batch_id", "action"])["at"].max().to_dict() if len(events) else {}
    order = ["start", *(step for step, _ in RUN_STEPS)]
    milestones: list[dict[str, pd.Timestamp | None]] = []
    for batch, batch_counts in zip(batches.itertuples(index=False), counts, strict=True):
        ends: dict[str, pd.Timestamp | None] = {
            "start": batch.created_at,
            "approval": batch.approved_at if pd.notna(batch.approved_at) else None,
            "crm": batch.updated_at if "crm" in batch_counts else None,
        }
        for step, actions in RUN_STEPS:
            if actions:
                found = [last_event[(batch.batch_id, a)] for a in actions if (batch.batch_id, a) in last_event]
                ends[step] = max(found) if found else None
        milestones.append(ends)
    # the approval is asked once every batch is prepared: it starts when the last batch's preparation ends
    prepared = [m["prepare"] for m in milestones if m["prepare"] is not None]
    spans: dict[str, tuple[pd.Timestamp, pd.Timestamp]] = {}
    for step in order[1:]:
        starts: list[pd.Timestamp] = []
        finishes: list[pd.Timestamp] = []
        for ends in milestones:
            end = ends[step]
            earlier = [m for m in (ends[n] for n in order[:order.index(step)]) if m is not None]
            begin = max(prepared) if step == "approval" and prepared else (earlier[-1] if earlier else None)
            if end is not None and begin is not None and end >= begin:
                starts.append(begin)
                finishes.append(end)
        if starts:
            spans[step] = (min(starts), max(finishes))
    return spans
