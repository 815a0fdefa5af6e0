"""Evidence gathered while a document is signed: what the certificate of completion prints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One line of the audit trail (always UTC)."""

    at: datetime
    action: str  # e.g. created, company_signed, sent, viewed, code_sent, code_verified, client_signed
    actor: str = ""
    channel: str = ""
    ip: str = ""
    user_agent: str = ""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ClientEvidence:
    """What the client did to sign: typed name and/or drawn image, and how the one-time code was confirmed."""

    signer_name: str
    signed_at: datetime
    channel: str  # email | sms
    masked_destination: str  # e.g. "j***@example.com" or "+55 11 9****-1234"
    code_verified_at: datetime
    ip: str = ""
    user_agent: str = ""
    typed_name: str = ""
    drawn_png: bytes | None = None
    signer_tax_id: str = ""
    position: int = 1  # the signer's position in the document (esign.model.signers)
    role: str = "signer"  # signer | witness
    slot: str = "client"  # the signature block it fills


@dataclass(frozen=True, slots=True)
class SignatureSlot:
    """Where a visible signature block sits: page index (0-based) and rectangle in PDF points."""

    role: str  # "company" or "client"
    page: int
    x: float
    y: float
    width: float
    height: float

    def to_dict(self) -> dict[str, float | int | str]:
        return {"role": self.role, "page": self.page, "x": self.x, "y": self.y,
                "width": self.width, "height": self.height}

    @classmethod
    def from_dict(cls, data: dict[str, float | int | str]) -> SignatureSlot:
        return cls(role=str(data["role"]), page=int(data["page"]), x=float(data["x"]), y=float(data["y"]),
                   width=float(data["width"]), height=float(data["height"]))
