"""The ledger: documents, versions, events (and, later, signing requests and the outbox)."""

from esign.store.bulk import NewDocument, StoredFile
from esign.store.db import get_engine, init_schema, make_engine
from esign.store.files import sha256_hex, write_atomic
from esign.store.ledger import Ledger
from esign.store.records import DocumentRecord, EventInfo, EventRecord, VersionRecord, new_document_id

__all__ = [
    "DocumentRecord",
    "EventInfo",
    "EventRecord",
    "Ledger",
    "NewDocument",
    "StoredFile",
    "VersionRecord",
    "get_engine",
    "init_schema",
    "make_engine",
    "new_document_id",
    "sha256_hex",
    "write_atomic",
]
