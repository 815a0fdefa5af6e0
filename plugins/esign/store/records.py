"""Rows of the ledger as plain frozen data, so callers never hold SQLAlchemy objects."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from esign.model import SignatureSlot, SignerSpec, Stage
from esign.model.signers import default_signer

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_document_id() -> str:
    """``DOC-`` and 16 Crockford base32 characters (80 random bits): short enough to print, never guessed."""
    return "DOC-" + "".join(secrets.choice(_ALPHABET) for _ in range(16))


#: First key of the per-document advisory locks (the second is the hash of the document ID).
LOCK_NAMESPACE = 0x65536967  # "eSig"


@dataclass(frozen=True, slots=True)
class EventInfo:
    """Who did something, from where. Everything but the action is optional."""

    actor: str = ""
    channel: str = ""
    ip: str = ""
    user_agent: str = ""
    detail: str = ""


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; the ledger stores UTC only."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    id: str
    crm: str
    deal_id: str
    template_id: str
    round: int
    batch_id: str | None
    title: str
    counterparty_name: str
    counterparty_tax_id: str
    counterparty_email: str
    counterparty_phone: str
    manager_id: str | None
    stage: Stage
    reason: str | None
    slots: tuple[SignatureSlot, ...]
    created_at: datetime
    updated_at: datetime
    counterparty_contact: str = ""  # the contact person at the counterparty, whom messages greet
    language: str = ""  # the client's language when the deal gives one (else the company's is used)
    manager_email: str = ""  # the responsible manager's, from the CRM: a copy of the final signed document goes there
    stored_signers: tuple[SignerSpec, ...] = ()  # as created; empty for a one-signer document (see ``signers``)

    @classmethod
    def from_row(cls, row: Any) -> DocumentRecord:
        return cls.from_mapping(row._mapping)

    @classmethod
    def from_mapping(cls, m: Any) -> DocumentRecord:
        """From a ``documents`` row's columns by name (a result row's mapping, or the values just inserted)."""
        return cls(
            id=m["id"], crm=m["crm"], deal_id=m["deal_id"], template_id=m["template_id"], round=m["round"],
            batch_id=m["batch_id"], title=m["title"], counterparty_name=m["counterparty_name"],
            counterparty_tax_id=m["counterparty_tax_id"], counterparty_email=m["counterparty_email"],
            counterparty_phone=m["counterparty_phone"], manager_id=m["manager_id"], stage=Stage(m["stage"]),
            reason=m["reason"], slots=tuple(SignatureSlot.from_dict(s) for s in json.loads(m["slots_json"])),
            created_at=as_utc(m["created_at"]), updated_at=as_utc(m["updated_at"]),
            counterparty_contact=m.get("counterparty_contact") or "", language=m.get("language") or "",
            manager_email=m.get("manager_email") or "",
            stored_signers=tuple(SignerSpec.from_dict(d) for d in json.loads(m.get("signers_json") or "[]")),
        )

    def slot(self, role: str) -> SignatureSlot | None:
        return next((s for s in self.slots if s.role == role), None)

    @property
    def signers(self) -> tuple[SignerSpec, ...]:
        """Everyone asked to sign or to get a copy; a document created with none has its counterparty's contact."""
        if self.stored_signers:
            return self.stored_signers
        return (default_signer(self.counterparty_contact or self.counterparty_name, self.counterparty_tax_id,
                               self.counterparty_email, self.counterparty_phone, self.language),)

    def signer(self, position: int) -> SignerSpec:
        """The signer at ``position`` (KeyError when there is none)."""
        for spec in self.signers:
            if spec.position == position:
                return spec
        raise KeyError(f"document {self.id} has no signer {position}")


@dataclass(frozen=True, slots=True)
class VersionRecord:
    document_id: str
    kind: str
    sha256: str
    path: str
    size: int
    created_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> VersionRecord:
        m = row._mapping
        return cls(document_id=m["document_id"], kind=m["kind"], sha256=m["sha256"], path=m["path"],
                   size=m["size"], created_at=as_utc(m["created_at"]))


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: int
    document_id: str
    at: datetime
    action: str
    stage: Stage | None
    actor: str
    channel: str
    ip: str
    user_agent: str
    detail: str

    @classmethod
    def from_row(cls, row: Any) -> EventRecord:
        m = row._mapping
        return cls(id=m["id"], document_id=m["document_id"], at=as_utc(m["at"]), action=m["action"],
                   stage=Stage(m["stage"]) if m["stage"] else None, actor=m["actor"], channel=m["channel"],
                   ip=m["ip"], user_agent=m["user_agent"], detail=m["detail"])
