"""A signing request as plain frozen data, so callers never hold SQLAlchemy rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from esign.store.records import as_utc


class RequestStatus(StrEnum):
    OPEN = "open"
    SIGNED = "signed"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELED = "canceled"


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class SigningRequest:
    """One signing link of a document. The token is not here: it is derived from ``id`` and the secret."""

    id: str
    document_id: str
    attempt: int
    channel: str
    destination: str
    masked_destination: str
    status: RequestStatus
    created_at: datetime
    expires_at: datetime
    viewed_at: datetime | None = None
    verified_at: datetime | None = None
    closed_at: datetime | None = None
    signed_at: datetime | None = None
    signer_name: str | None = None
    decline_reason: str | None = None
    signer: int = 1  # the position of the signer it is for (esign.model.signers)

    @classmethod
    def from_row(cls, row: Any) -> SigningRequest:
        m = row._mapping
        return cls(
            id=m["id"], document_id=m["document_id"], attempt=m["attempt"], channel=m["channel"],
            destination=m["destination"], masked_destination=m["masked_destination"],
            status=RequestStatus(m["status"]), created_at=as_utc(m["created_at"]),
            expires_at=as_utc(m["expires_at"]), viewed_at=_utc(m["viewed_at"]),
            verified_at=_utc(m["verified_at"]), closed_at=_utc(m["closed_at"]), signed_at=_utc(m["signed_at"]),
            signer_name=m["signer_name"], decline_reason=m["decline_reason"], signer=m["signer"],
        )
