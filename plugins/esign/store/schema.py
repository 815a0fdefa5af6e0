"""The ledger's schema, in one place: documents, their versions, and the append-only event log.

SQLAlchemy Core tables run unchanged on SQLite (embedded default) and PostgreSQL (production).
Other areas (CRM tables, signing requests, outbox) register their tables on the same ``metadata``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

#: One document per (CRM, deal, template, round). ``stage`` is a cache of the last stage event,
#: updated in the same transaction as the event that sets it.
documents = Table(
    "documents",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("crm", String(40), nullable=False, default="local"),
    Column("deal_id", String(64), nullable=False),
    Column("template_id", String(100), nullable=False),
    Column("round", Integer, nullable=False, default=1),
    Column("batch_id", String(100)),
    Column("title", String(300), nullable=False),
    Column("counterparty_name", String(300), nullable=False, default=""),
    Column("counterparty_tax_id", String(40), nullable=False, default=""),
    Column("counterparty_email", String(320), nullable=False, default=""),
    Column("counterparty_phone", String(40), nullable=False, default=""),
    Column("counterparty_contact", String(200), nullable=False, default="", server_default=""),  # whom to greet
    Column("language", String(20), nullable=False, default="", server_default=""),  # the client's, if the deal says
    Column("manager_email", String(320), nullable=False, default="", server_default=""),  # gets the final copy
    Column("manager_id", String(64)),
    Column("stage", String(20), nullable=False),
    Column("reason", Text),
    Column("slots_json", Text, nullable=False, default="[]"),
    # the signers (esign.model.signers), fixed at creation; "[]": the counterparty's contact signs alone
    Column("signers_json", Text, nullable=False, default="[]", server_default="[]"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("crm", "deal_id", "template_id", "round", name="uq_documents_deal_template_round"),
)
Index("ix_documents_stage", documents.c.stage)
Index("ix_documents_batch", documents.c.batch_id)

#: Each stored file of a document: the rendered original, the company-signed and the final version.
document_versions = Table(
    "document_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("document_id", String(40), ForeignKey("documents.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("path", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("document_id", "kind", name="uq_versions_document_kind"),
)
Index("ix_versions_sha256", document_versions.c.sha256)

#: Append-only: rows are inserted, never updated or deleted. ``stage`` is set when the event moves the document.
events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("document_id", String(40), ForeignKey("documents.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("action", String(40), nullable=False),
    Column("stage", String(20)),
    Column("actor", String(200), nullable=False, default=""),
    Column("channel", String(20), nullable=False, default=""),
    Column("ip", String(64), nullable=False, default=""),
    Column("user_agent", Text, nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
)
Index("ix_events_document", events.c.document_id, events.c.id)
