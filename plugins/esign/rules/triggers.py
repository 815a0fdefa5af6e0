"""Where each trigger's occurrences come from: the ledger's event log, open documents, and CRM stage scans.

An occurrence carries a key unique to (rule, document or deal, occurrence): a document reaches each stage
once, so its key is rule+document+trigger; a deal may enter a stage many times, so its key counts entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from esign.crm.base import CrmClient
from esign.model import Stage
from esign.rules.config import DOCUMENT_TRIGGERS, Rule
from esign.rules.schema import rule_stage_presence
from esign.store.schema import documents, events


@dataclass(frozen=True, slots=True)
class Occurrence:
    key: str
    rule: str
    trigger: str
    deal_id: str
    document_id: str | None = None
    template_id: str | None = None


def document_occurrences(engine: Engine, rule: Rule, now: datetime, deal_id: str | None = None) -> list[Occurrence]:
    """Documents that reached the rule's stage (or wait for the client for ``days``)."""
    if rule.trigger in DOCUMENT_TRIGGERS:
        query = (select(documents.c.id, documents.c.deal_id, documents.c.template_id).distinct()
                 .select_from(events.join(documents, events.c.document_id == documents.c.id))
                 .where(events.c.stage == DOCUMENT_TRIGGERS[rule.trigger]))
    elif rule.trigger == "no_response":
        cutoff = now - timedelta(days=rule.days or 0)
        query = (select(documents.c.id, documents.c.deal_id, documents.c.template_id).distinct()
                 .select_from(events.join(documents, events.c.document_id == documents.c.id))
                 .where(documents.c.stage.in_([Stage.SENT.value, Stage.VIEWED.value]),
                        events.c.stage == Stage.SENT.value, events.c.at <= cutoff))
    else:
        return []
    if deal_id is not None:
        query = query.where(documents.c.deal_id == deal_id)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(documents.c.id)).all()
    return [Occurrence(f"{rule.name}|{r.id}|{rule.trigger}", rule.name, rule.trigger, str(r.deal_id), r.id,
                       r.template_id) for r in rows]


def scan_stage(engine: Engine, crm: CrmClient, stage_id: str, now: datetime | None = None) -> dict[str, int]:
    """Record which deals are in ``stage_id`` now; each present deal with its entry number.

    A deal not seen before, or seen leaving since, gets a new entry: that is a new "enters stage" occurrence.
    """
    now = now or datetime.now(UTC)
    current = {str(d) for d in crm.iter_deal_ids(stage_id)}
    with engine.begin() as conn:
        known = {r.deal_id: (int(r.entry), bool(r.present)) for r in
                 conn.execute(select(rule_stage_presence).where(rule_stage_presence.c.stage_id == stage_id))}
        where = rule_stage_presence.c.stage_id == stage_id
        for deal, (entry, present) in known.items():
            if present and deal not in current:
                conn.execute(rule_stage_presence.update().where(where, rule_stage_presence.c.deal_id == deal)
                             .values(present=0, seen_at=now))
            elif not present and deal in current:
                conn.execute(rule_stage_presence.update().where(where, rule_stage_presence.c.deal_id == deal)
                             .values(present=1, entry=entry + 1, seen_at=now))
        new = [{"stage_id": stage_id, "deal_id": d, "entry": 1, "present": 1, "seen_at": now}
               for d in sorted(current - set(known))]
        if new:
            conn.execute(rule_stage_presence.insert(), new)
        rows = conn.execute(select(rule_stage_presence.c.deal_id, rule_stage_presence.c.entry)
                            .where(where, rule_stage_presence.c.present == 1)).all()
    return {str(r.deal_id): int(r.entry) for r in rows}


def stage_occurrences(rule: Rule, present: dict[str, int]) -> list[Occurrence]:
    return [Occurrence(f"{rule.name}|deal:{deal}|enters:{rule.stage}#{entry}", rule.name, rule.trigger, deal)
            for deal, entry in sorted(present.items())]
