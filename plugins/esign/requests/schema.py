"""Tables for signing requests and their one-time codes, registered on the ledger's shared ``metadata``.

Nothing secret is stored in plain text: the link token only as SHA-256 (for lookup) and each code only as
an HMAC keyed with the link secret, so a copy of the database neither opens links nor reveals codes.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from esign.store.schema import metadata

#: One row per signing attempt of one signer of a document. ``attempt`` numbers a document's requests (all its
#: signers together) and grows with each new one, so (document_id, attempt) makes ``create`` idempotent even under
#: concurrent callers; a signer's latest request is their current one.
signing_requests = Table(
    "signing_requests",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("document_id", String(40), ForeignKey("documents.id"), nullable=False),
    Column("attempt", Integer, nullable=False, default=1),
    # the signer (their position in the document's signers) this link is for; attempts count per document
    Column("signer", Integer, nullable=False, default=1, server_default="1"),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("channel", String(20), nullable=False),
    Column("destination", String(320), nullable=False),
    Column("masked_destination", String(320), nullable=False),
    Column("status", String(20), nullable=False),  # open | signed | declined | expired | canceled
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("viewed_at", DateTime(timezone=True)),
    Column("verified_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    # evidence of the client's signature (set once, with status -> signed, in one UPDATE)
    Column("signed_at", DateTime(timezone=True)),
    Column("signer_name", String(200)),
    Column("typed_name", String(200)),
    Column("drawn_png", LargeBinary),
    Column("code_verified_at", DateTime(timezone=True)),
    Column("sign_ip", String(64)),
    Column("sign_user_agent", Text),
    Column("decline_reason", Text),
    UniqueConstraint("document_id", "attempt", name="uq_signing_requests_document_attempt"),
)
Index("ix_signing_requests_document_signer", signing_requests.c.document_id, signing_requests.c.signer)
Index("ix_signing_requests_status_expires", signing_requests.c.status, signing_requests.c.expires_at)

#: Every code issued for a request; the newest one the relay accepted is the one that counts. (request_id, sequence)
#: is unique, so two concurrent "send me a code" clicks cannot both pass the throttle. ``state``: ``sending`` while
#: the code is being handed to the relay, ``sent`` once it accepted it (``issued_at``/``expires_at`` then count from
#: that moment), ``failed`` when it did not (the code can never be used).
signing_codes = Table(
    "signing_codes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(40), ForeignKey("signing_requests.id"), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("code_hmac", String(64), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("failures", Integer, nullable=False, default=0),
    Column("used_at", DateTime(timezone=True)),
    Column("state", String(10), nullable=False, default="sent", server_default="sent"),
    UniqueConstraint("request_id", "sequence", name="uq_signing_codes_request_sequence"),
)
