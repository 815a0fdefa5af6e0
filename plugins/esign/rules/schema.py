"""Tables of the automation rules: each firing once per trigger occurrence, and which deals are in which stage."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from esign.store.schema import metadata

#: One row per rule firing. ``key`` (rule + document or deal + trigger occurrence) is unique, so a re-run,
#: a retried task or two racing workers can never fire a rule twice for the same occurrence.
rule_firings = Table(
    "rule_firings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(300), nullable=False, unique=True),
    Column("rule", String(100), nullable=False),
    Column("trigger", String(40), nullable=False),
    Column("deal_id", String(64), nullable=False),
    Column("document_id", String(40)),
    Column("state", String(10), nullable=False),  # pending (claimed), done, failed
    Column("detail", Text, nullable=False, default=""),
    Column("fired_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("ix_rule_firings_deal", rule_firings.c.deal_id)

#: Deals seen in a watched stage: ``entry`` counts how many times the deal entered it, so leaving and
#: coming back is a new occurrence of "deal enters stage".
rule_stage_presence = Table(
    "rule_stage_presence",
    metadata,
    Column("stage_id", String(100), nullable=False),
    Column("deal_id", String(64), nullable=False),
    Column("entry", Integer, nullable=False),
    Column("present", Integer, nullable=False),  # 1 while the deal is in the stage
    Column("seen_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("stage_id", "deal_id", name="pk_rule_stage_presence"),
)
