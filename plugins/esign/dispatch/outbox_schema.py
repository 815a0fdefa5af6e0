"""The ``outbox`` table: one row per message the pipeline intends to send, written before sending.

The row holds the finished message (serialised email bytes or SMS text, UTF-8) with a fixed Message-ID, so a
retry re-sends exactly the same bytes and a crash leaves a visible trace. ``dedupe_key`` is unique: enqueuing the
same intent twice can never create a second message. No foreign keys: the outbox is filled from the ledger's
documents and signing requests but is read, purged and tested on its own.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, LargeBinary, String, Table, Text

from esign.store.schema import metadata

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("document_id", String(40), nullable=False),
    Column("request_id", String(64), nullable=False, default=""),
    Column("kind", String(20), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("destination", String(320), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("state", String(12), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("provider_ref", String(200)),
    Column("resend_of", Integer),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
)
Index("ix_outbox_state_id", outbox.c.state, outbox.c.id)
Index("ix_outbox_document", outbox.c.document_id)
Index("ix_outbox_request", outbox.c.request_id)
