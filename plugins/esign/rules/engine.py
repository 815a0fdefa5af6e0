"""Evaluating the rules: find trigger occurrences, check conditions, fire each occurrence exactly once.

A firing is claimed by inserting its unique key (``pending``) before any action runs, so two workers or a
retried task cannot both fire it. Actions then run; the row becomes ``done`` and the document gets one
``rule_fired`` event. A failure leaves the row ``failed`` with the reason and is retried on the next evaluation
(messages are deduplicated by the outbox key; a CRM comment may then repeat, a lost one would be worse).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from esign.errors import EsignError
from esign.rules.actions import run_action
from esign.rules.config import Rule
from esign.rules.ports import RuleServices
from esign.rules.schema import rule_firings
from esign.rules.triggers import Occurrence, document_occurrences, scan_stage, stage_occurrences
from esign.store import EventInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DealFacts:
    amount: Decimal | None
    pipeline: str


def deal_facts(services: RuleServices, deal_id: str) -> DealFacts | None:
    """The deal's amount and pipeline from the CRM; None when it no longer exists."""
    stage = services.crm.get_deal_stage(int(deal_id))
    fetched = services.crm.fetch_deals(stage, int(deal_id), int(deal_id)) if stage else []
    if not fetched:
        return None
    deal = fetched[0]
    amount = None if any(p.startswith("amount") for p in deal.problems) else deal.deal.amount
    return DealFacts(amount, deal.deal.category_id)


def check_conditions(services: RuleServices, rule: Rule, occurrence: Occurrence) -> list[str]:
    """Why the rule's conditions fail for this occurrence (empty: they hold)."""
    when, reasons = rule.when, []
    if when.template is not None and occurrence.template_id != when.template:
        reasons.append(f"template is {occurrence.template_id}, not {when.template}")
    if when.needs_deal:
        facts = deal_facts(services, occurrence.deal_id)
        if facts is None:
            return [*reasons, f"deal {occurrence.deal_id} not found in the CRM"]
        if when.pipeline is not None and facts.pipeline != when.pipeline:
            reasons.append(f"pipeline is {facts.pipeline}, not {when.pipeline}")
        if when.amount_min is not None and (facts.amount is None or facts.amount < when.amount_min):
            reasons.append(f"amount {facts.amount} is below {when.amount_min}")
        if when.amount_max is not None and (facts.amount is None or facts.amount > when.amount_max):
            reasons.append(f"amount {facts.amount} is above {when.amount_max}")
    return reasons


def occurrences(services: RuleServices, rule: Rule, now: datetime, stages: dict[str, dict[str, int]],
                deal_id: str | None = None) -> list[Occurrence]:
    if rule.trigger == "deal_enters_stage":
        stage = rule.stage or ""
        if stage not in stages:
            stages[stage] = scan_stage(services.ws.engine, services.crm, stage, now)
        found = stage_occurrences(rule, stages[stage])
        return [o for o in found if deal_id is None or o.deal_id == deal_id]
    return document_occurrences(services.ws.engine, rule, now, deal_id)


def _state(services: RuleServices, key: str) -> str | None:
    with services.ws.engine.connect() as conn:
        return conn.execute(select(rule_firings.c.state).where(rule_firings.c.key == key)).scalar()


def _fired_before(services: RuleServices, key_prefix: str) -> bool:
    query = select(rule_firings.c.id).where(rule_firings.c.key.startswith(key_prefix, autoescape=True),
                                            rule_firings.c.state == "done")
    with services.ws.engine.connect() as conn:
        return conn.execute(query).first() is not None


def _claim(services: RuleServices, occ: Occurrence, now: datetime) -> bool:
    """Insert the firing (pending); False when it already fired. A failed one is claimed again."""
    try:
        with services.ws.engine.begin() as conn:
            conn.execute(rule_firings.insert().values(
                key=occ.key, rule=occ.rule, trigger=occ.trigger, deal_id=occ.deal_id, document_id=occ.document_id,
                state="pending", detail="", fired_at=now, updated_at=now))
        return True
    except IntegrityError:
        with services.ws.engine.begin() as conn:
            result = conn.execute(rule_firings.update()
                                  .where(rule_firings.c.key == occ.key, rule_firings.c.state.in_(["failed", "pending"]))
                                  .values(state="pending", updated_at=now))
        return result.rowcount == 1


def _finish(services: RuleServices, key: str, state: str, detail: str) -> None:
    with services.ws.engine.begin() as conn:
        conn.execute(rule_firings.update().where(rule_firings.c.key == key)
                     .values(state=state, detail=detail[:2000], updated_at=datetime.now(UTC)))


def fire(services: RuleServices, rule: Rule, occ: Occurrence, now: datetime) -> str:
    """Run the rule's actions for one occurrence once: ``fired``, ``skipped`` (already done) or ``failed``."""
    if _state(services, occ.key) == "done" or not _claim(services, occ, now):
        return "skipped"
    notes: list[str] = []
    try:
        for n, action in enumerate(rule.actions):
            notes.append(run_action(services, rule, occ, action, n))
    except EsignError as exc:
        log.warning("rule %s on %s: %s", rule.name, occ.document_id or occ.deal_id, exc)
        _finish(services, occ.key, "failed", "; ".join([*notes, f"failed: {exc}"]))
        return "failed"
    detail = f"regra {rule.name} ({rule.trigger}): " + "; ".join(notes)
    if occ.document_id:
        services.ws.ledger.log(occ.document_id, "rule_fired", EventInfo(actor="rules", detail=detail))
    _finish(services, occ.key, "done", detail)
    return "fired"


def evaluate(services: RuleServices, rules: list[Rule], now: datetime | None = None) -> dict[str, int]:
    """One pass over every rule; counts of fired, failed, skipped and not matching."""
    now = now or datetime.now(UTC)
    counts: Counter[str] = Counter()
    stages: dict[str, dict[str, int]] = {}
    if services.config.dry_run:
        return {}
    for rule in rules:
        for occ in occurrences(services, rule, now, stages):
            if _state(services, occ.key) == "done":
                continue
            if check_conditions(services, rule, occ):
                counts["not_matching"] += 1
                continue
            counts[fire(services, rule, occ, now)] += 1
    return dict(counts)


def explain(services: RuleServices, rules: list[Rule], deal_id: str, now: datetime | None = None) -> list[str]:
    """For one deal, each rule's verdict and why (read-only: stage triggers are judged on the current stage)."""
    now = now or datetime.now(UTC)
    lines = []
    stage = services.crm.get_deal_stage(int(deal_id))
    for rule in rules:
        if rule.trigger == "deal_enters_stage":
            found = ([Occurrence(f"{rule.name}|deal:{deal_id}|enters:{rule.stage}", rule.name, rule.trigger, deal_id)]
                     if stage == rule.stage else [])
        else:
            found = document_occurrences(services.ws.engine, rule, now, deal_id)
        if not found:
            what = f"deal is in {stage}" if rule.trigger == "deal_enters_stage" else "no document of the deal"
            lines.append(f"{rule.name}: no — trigger {rule.trigger} not met ({what})")
            continue
        for occ in found:
            target = occ.document_id or f"deal {deal_id}"
            fired = _fired_before(services, occ.key)
            reasons = check_conditions(services, rule, occ)
            actions = ", ".join(a.type for a in rule.actions)
            if fired:
                lines.append(f"{rule.name}: already fired on {target} ({rule.trigger})")
            elif reasons:
                lines.append(f"{rule.name}: no — {target}: " + "; ".join(reasons))
            else:
                lines.append(f"{rule.name}: yes — {target}: {rule.trigger}, conditions hold; would {actions}")
    return lines
