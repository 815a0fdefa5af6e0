"""Turn the metric queries' rows into the tables analysts read: conversion, percentiles, buckets.

Everything that needs arithmetic the SQL cannot do portably (durations, percentiles, day buckets) lives
here, once, so the notebooks only display what these functions return. Tables hold machine values (stage codes,
the English labels below marked for the catalogue); the presentation translates them for the reader.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd

from esign.i18n import DEFAULT_TIMEZONE, N_
from esign.reporting.queries import as_utc
from esign.requests.signer_states import SignerState, state_from

#: The main path of the lifecycle, in order, and the ends a document may leave it by.
FUNNEL_PATH = ("created", "company_signed", "sent", "viewed", "client_signed", "completed")
#: A client may sign without a recorded view: conversion skips over optional stages.
FUNNEL_OPTIONAL = frozenset({"viewed"})
FUNNEL_ENDS = ("quarantined", "declined", "expired", "canceled", "failed")
THROUGHPUT_KINDS = ("created", "sent", "signed", "declined", "expired")
#: Upper bounds (seconds) of the time-to-sign histogram and the pending-age SLA buckets.
SIGN_BUCKETS = ((3600, N_("< 1 h")), (4 * 3600, N_("1-4 h")), (86400, N_("4-24 h")), (3 * 86400, N_("1-3 days")),
                (7 * 86400, N_("3-7 days")), (None, N_("> 7 days")))
AGE_BUCKETS = ((86400, N_("< 1 day")), (3 * 86400, N_("1-3 days")), (7 * 86400, N_("3-7 days")),
               (14 * 86400, N_("7-14 days")), (None, N_("> 14 days")))
#: What became of the documents sent in the period, for the reminders table.
REMINDER_OUTCOMES = (N_("signed without a reminder"), N_("signed after a reminder"), N_("reminded, not signed"),
                     N_("not reminded, not signed"))


#: The per-signer funnel's steps, in order: every signer, then how many of them got that far (``confirmed``: typed
#: the one-time code); the ways out are their latest request's end.
SIGNER_STEPS = ("signers", "invited", "viewed", "confirmed", "signed", "declined", "expired")
SIGNER_ROLES = ("signer", "witness")


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def funnel_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Stages in lifecycle order with the share of created documents and the step-to-step conversion."""
    counts = {str(s): int(n) for s, n in zip(rows.get("stage", []), rows.get("documents", []), strict=True)}
    created = counts.get("created", 0)
    out = []
    previous: int | None = None
    for stage in FUNNEL_PATH:
        n = counts.get(stage, 0)
        out.append({"stage": stage, "documents": n, "pct_of_created": _pct(n, created),
                    "pct_of_previous": _pct(n, previous) if previous is not None else None})
        if stage not in FUNNEL_OPTIONAL:
            previous = n
    for stage in FUNNEL_ENDS:
        n = counts.get(stage, 0)
        out.append({"stage": stage, "documents": n, "pct_of_created": _pct(n, created), "pct_of_previous": None})
    return pd.DataFrame(out, columns=["stage", "documents", "pct_of_created", "pct_of_previous"])


def with_durations(rows: pd.DataFrame) -> pd.DataFrame:
    """The time-to-sign rows with ``seconds`` from the link going out to the client's signature."""
    out = rows.copy()
    out["seconds"] = (out["signed_at"] - out["sent_at"]).dt.total_seconds() if len(out) else pd.Series(dtype=float)
    return out


def duration_stats(seconds: pd.Series) -> dict[str, float | int | None]:
    """Count, median and p90 (linear interpolation) of a series of durations in seconds."""
    values = seconds.dropna()
    if values.empty:
        return {"signed": 0, "median_s": None, "p90_s": None}
    return {"signed": len(values), "median_s": float(values.quantile(0.5)), "p90_s": float(values.quantile(0.9))}


def stats_by(rows: pd.DataFrame, column: str, label: str | None = None) -> pd.DataFrame:
    """Time-to-sign statistics per value of ``column`` (template, channel, manager, ...)."""
    timed = with_durations(rows)
    columns = [label or column, "signed", "median_s", "p90_s"]
    if timed.empty:
        return pd.DataFrame(columns=columns)
    keys = timed[column].astype(object).where(timed[column].notna(), None)
    table = [{columns[0]: key, **duration_stats(group["seconds"])}
             for key, group in timed.groupby(keys, dropna=False)]
    return pd.DataFrame(table, columns=columns).sort_values("signed", ascending=False, kind="stable")


def histogram(seconds: pd.Series, buckets: tuple[tuple[int | None, str], ...] = SIGN_BUCKETS) -> pd.DataFrame:
    """How many durations fall in each bucket (every bucket listed, empty ones with 0)."""
    counts = dict.fromkeys((label for _, label in buckets), 0)
    for value in seconds.dropna():
        counts[_bucket(float(value), buckets)] += 1
    return pd.DataFrame({"bucket": list(counts), "count": list(counts.values())})


def _bucket(value: float, buckets: tuple[tuple[int | None, str], ...]) -> str:
    for bound, label in buckets:
        if bound is None or value < bound:
            return label
    return buckets[-1][1]


def channel_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Requests per channel and status, with the share signed."""
    statuses = ["open", "signed", "declined", "expired", "canceled"]
    columns = ["channel", "requests", *statuses, "pct_signed"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    pivot = rows.pivot_table(index="channel", columns="status", values="requests", aggfunc="sum", fill_value=0)
    table = pivot.reindex(columns=statuses, fill_value=0).astype(int)
    table.insert(0, "requests", pivot.sum(axis=1).astype(int))
    table["pct_signed"] = [_pct(s, t) for s, t in zip(table["signed"], table["requests"], strict=True)]
    return table.reset_index()[columns]


def with_people(rows: pd.DataFrame, names: Mapping[str, str], departments: Mapping[str, str]) -> pd.DataFrame:
    """The ``managers`` rows (by ``manager_id``) with the CRM's ``manager`` name and ``department`` name joined in
    (``None`` where the CRM did not say)."""
    ids = [_text(v) for v in rows.get("manager_id", [])]
    return rows.assign(manager=pd.Series([names.get(i) if i else None for i in ids], index=rows.index, dtype=object),
                       department=pd.Series([departments.get(i) if i else None for i in ids], index=rows.index,
                                            dtype=object))


def manager_table(rows: pd.DataFrame, timed: pd.DataFrame, by: str = "manager") -> pd.DataFrame:
    """Documents, outcomes and median time to sign per manager (or ``by="department"``).

    ``rows`` come from :func:`with_people`. Per manager: ``manager_id`` and ``manager`` (the name, ``None`` when
    the CRM did not give it);
    per department: ``department`` (``None`` when unknown). The page words the missing ones.
    """
    columns = [*(("manager_id",) if by == "manager" else ()), by, "documents", "completed", "declined",
               "pct_completed", "median_s"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    ids = [_text(v) for v in rows["manager_id"]]
    names = dict(zip(ids, (_text(v) for v in rows["manager"]), strict=True))
    departments = dict(zip(ids, (_text(v) for v in rows["department"]), strict=True))

    def group_of(manager_id: str | None) -> str | None:
        return manager_id if by == "manager" else departments.get(manager_id)

    totals: dict[str | None, Counter[str]] = {}
    for manager_id, stage, n in zip(ids, rows["stage"], rows["documents"], strict=True):
        counter = totals.setdefault(group_of(manager_id), Counter())
        counter["documents"] += int(n)
        counter[str(stage)] += int(n)
    durations = with_durations(timed)
    seconds: dict[str | None, list[float]] = {}
    for manager_id, value in zip(durations.get("manager_id", []), durations.get("seconds", []), strict=True):
        seconds.setdefault(group_of(_text(manager_id)), []).append(float(value))
    out = []
    for group, counter in totals.items():
        row = {"manager_id": group, "manager": names.get(group)} if by == "manager" else {by: group}
        out.append({**row, "documents": counter["documents"], "completed": counter["completed"],
                    "declined": counter["declined"], "pct_completed": _pct(counter["completed"], counter["documents"]),
                    "median_s": duration_stats(pd.Series(seconds.get(group, []), dtype=float))["median_s"]})
    return pd.DataFrame(out, columns=columns).sort_values("documents", ascending=False, kind="stable")


def _text(value: object) -> str | None:
    """A database value as text, ``None`` for NULL/NaN (pandas turns a NULL into NaN in some columns)."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def throughput_daily(rows: pd.DataFrame, since: datetime, until: datetime,
                     timezone: str = DEFAULT_TIMEZONE) -> pd.DataFrame:
    """Events per day (days of ``timezone``, the company's) for every day of the period; quiet days are 0."""
    zone = ZoneInfo(timezone)
    first = as_utc(since).astimezone(zone).date()
    last = (as_utc(until) - pd.Timedelta(microseconds=1)).astimezone(zone).date()
    days = pd.date_range(first, last, freq="D")
    table = pd.DataFrame(0, index=pd.Index(days.date, name="day"), columns=list(THROUGHPUT_KINDS))
    if not rows.empty:
        local_days = rows["at"].dt.tz_convert(zone).dt.date
        counts = rows.assign(day=local_days).groupby(["day", "kind"]).size().unstack(fill_value=0)
        table = table.add(counts.reindex(columns=list(THROUGHPUT_KINDS), fill_value=0), fill_value=0).astype(int)
    return table.reset_index()


def pending_buckets(rows: pd.DataFrame, as_of: datetime) -> pd.DataFrame:
    """Open requests by age at ``as_of`` (SLA buckets), with how many are already past their expiry."""
    moment = pd.Timestamp(as_utc(as_of))
    ages = (moment - rows["created_at"]).dt.total_seconds() if len(rows) else pd.Series(dtype=float)
    table = histogram(ages, AGE_BUCKETS).rename(columns={"count": "requests"})
    overdue = [0] * len(table)
    for age, expires in zip(ages, rows.get("expires_at", []), strict=True):
        if expires <= moment:
            overdue[list(table["bucket"]).index(_bucket(float(age), AGE_BUCKETS))] += 1
    table["past_expiry"] = overdue
    return table


def reminder_effect(rows: pd.DataFrame) -> pd.DataFrame:
    """Documents sent in the period split by reminder and outcome: did a reminder precede the signature?"""
    groups = list(REMINDER_OUTCOMES)
    counts = dict.fromkeys(groups, 0)
    for reminders, first, signed in zip(rows.get("reminders", []), rows.get("first_reminder_at", []),
                                        rows.get("signed_at", []), strict=True):
        reminded = int(reminders) > 0 and pd.notna(first)
        if pd.notna(signed):
            counts[groups[1] if reminded and first <= signed else groups[0]] += 1
        else:
            counts[groups[2] if reminded else groups[3]] += 1
    return pd.DataFrame({"outcome": groups, "documents": [counts[g] for g in groups]})


def _signing_roles(signers_json: object) -> dict[int, str]:
    """A document's signing positions and their roles (copies sign nothing); "[]" or NULL: one signer."""
    try:
        stored = json.loads(str(signers_json)) if signers_json is not None else []
    except ValueError:
        stored = []
    roles = {int(s["position"]): str(s.get("role", "signer")) for s in stored
             if isinstance(s, dict) and s.get("role", "signer") != "copy" and "position" in s}
    return roles or {1: "signer"}


def signer_funnel_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per role (signer, witness) and position: how many signers the documents of the period had, and how many of
    them were invited, opened their link, confirmed the code, signed, declined or let it expire.

    ``rows`` are the ``signer_funnel`` metric's (one per request, with the document's ``signers_json``). A
    signer's end (signed, declined, expired) is their latest request's, as every surface reads it
    (:func:`esign.requests.signer_states.state_from`); the steps before it count whether any of their requests got
    there.
    """
    columns = ["role", "position", *SIGNER_STEPS]
    documents: dict[str, dict[int, str]] = {}
    requests: dict[tuple[str, int], list[tuple[int, str, bool, bool]]] = {}
    for doc, signers_json, signer, attempt, status, viewed, verified in zip(
            rows.get("document_id", []), rows.get("signers_json", []), rows.get("signer", []),
            rows.get("attempt", []), rows.get("status", []), rows.get("viewed_at", []), rows.get("verified_at", []),
            strict=True):
        document = str(doc)
        if document not in documents:
            documents[document] = _signing_roles(signers_json)
        if _text(status) is None:
            continue  # the document has no request yet
        position = 1 if _text(signer) is None else int(float(signer))
        requests.setdefault((document, position), []).append(
            (int(float(attempt)), str(status), bool(pd.notna(viewed)), bool(pd.notna(verified))))
    counts: dict[tuple[str, int], Counter[str]] = {}
    for document, roles in documents.items():
        for position, role in roles.items():
            counter = counts.setdefault((role, position), Counter())
            counter["signers"] += 1
            made = sorted(requests.get((document, position), []))
            if not made:
                continue
            counter["invited"] += 1
            counter["viewed"] += any(v for _, _, v, _ in made)
            counter["confirmed"] += any(c for _, _, _, c in made)
            _, status, viewed, _ = made[-1]
            end = state_from(status, viewed)
            if end in (SignerState.SIGNED, SignerState.DECLINED, SignerState.EXPIRED):
                counter[end.value] += 1
    order = {role: n for n, role in enumerate(SIGNER_ROLES)}
    out = [{"role": role, "position": position, **{step: counter[step] for step in SIGNER_STEPS}}
           for (role, position), counter in sorted(counts.items(), key=lambda k: (order.get(k[0][0], 9), k[0][1]))]
    return pd.DataFrame(out, columns=columns)
