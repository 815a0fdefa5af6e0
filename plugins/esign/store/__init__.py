"""The ledger: documents, versions, events (and, later, signing requests and the outbox)."""

from esign.store.db import get_engine, init_schema, make_engine
from esign.store.files import sha256_hex, write_atomic
from esign.store.ledger import EventInfo, Ledger, new_document_id
from esign.store.records import DocumentRecord, EventRecord, VersionRecord

__all__ = [
    "DocumentRecord",
    "EventInfo",
    "EventRecord",
    "Ledger",
    "VersionRecord",
    "get_engine",
    "init_schema",
    "make_engine",
    "new_document_id",
    "sha256_hex",
    "write_atomic",
]
