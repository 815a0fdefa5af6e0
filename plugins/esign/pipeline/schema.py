"""Tables of the batch pipeline: the batches of each run and the CRM write-backs already done."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from esign.store.schema import metadata

#: One row per mapped batch of a run: an ID range of deals and what happened to them.
batches = Table(
    "pipeline_batches",
    metadata,
    Column("id", String(200), primary_key=True),  # "<run_id>#<n>"
    Column("run_id", String(200), nullable=False),
    Column("crm", String(40), nullable=False),
    Column("template_id", String(100), nullable=False),
    Column("stage_id", String(100), nullable=False),
    Column("first_id", BigInteger, nullable=False),
    Column("last_id", BigInteger, nullable=False),
    Column("planned", Integer, nullable=False, default=0),
    Column("approved_by", String(200)),
    Column("approved_at", DateTime(timezone=True)),
    Column("counts_json", Text, nullable=False, default="{}"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("ix_pipeline_batches_run", batches.c.run_id)

#: A CRM write-back (stage move + comment) done for a document, so re-runs never repeat it.
crm_sync = Table(
    "pipeline_crm_sync",
    metadata,
    Column("document_id", String(40), nullable=False),
    Column("target", String(20), nullable=False),  # awaiting, signed, declined, expired, quarantined
    Column("state", String(10), nullable=False),  # pending (intent recorded), commented, done, gone (deal deleted)
    Column("detail", Text, nullable=False, default=""),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("document_id", "target", name="pk_pipeline_crm_sync"),
)

#: Write-back states that owe nothing more: written back, or ended because the deal was deleted in the CRM.
SETTLED = ("done", "gone")
