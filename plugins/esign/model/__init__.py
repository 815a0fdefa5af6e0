"""Plain data: stages, deals, parties, evidence. No I/O."""

from esign.model.deal import Deal, LineItem, Manager, Party
from esign.model.evidence import AuditEvent, ClientEvidence, SignatureSlot
from esign.model.signers import SignerRole, SignerSide, SignerSpec, SigningOrder
from esign.model.stages import FINAL_STAGES, Stage, can_move, is_open

__all__ = [
    "FINAL_STAGES",
    "AuditEvent",
    "ClientEvidence",
    "Deal",
    "LineItem",
    "Manager",
    "Party",
    "SignatureSlot",
    "SignerRole",
    "SignerSide",
    "SignerSpec",
    "SigningOrder",
    "Stage",
    "can_move",
    "is_open",
]
