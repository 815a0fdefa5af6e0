"""Plain data about deals and the parties of a contract. No I/O, no validation beyond types.

Validation with field-named reasons lives in :mod:`esign.validate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from esign.model.signers import SignerSpec


@dataclass(frozen=True, slots=True)
class Party:
    """A legal party: the company issuing the contract or the counterparty signing it."""

    name: str
    tax_id: str  # CNPJ (companies) or CPF (people), digits with or without punctuation
    address: str = ""
    representative: str = ""
    representative_title: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True, slots=True)
class LineItem:
    description: str
    quantity: Decimal
    unit_price: Decimal

    @property
    def total(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class Manager:
    """The deal's responsible person in the CRM."""

    id: str
    name: str
    email: str = ""
    department: str = ""


@dataclass(frozen=True, slots=True)
class Deal:
    """A CRM deal as the pipeline needs it, already normalised by the CRM client."""

    id: str
    title: str
    amount: Decimal
    currency: str
    counterparty: Party
    stage_id: str = ""
    category_id: str = "0"
    line_items: tuple[LineItem, ...] = ()
    manager: Manager | None = None
    attachment_pdf: bytes | None = None  # an existing PDF attached to the deal, when the template says so
    extra: dict[str, str] = field(default_factory=dict)
    #: The people who sign it (client signers, witnesses, copies) as the CRM lists them, before ``arrange``;
    #: empty: the counterparty's contact is the one client signer.
    signers: tuple[SignerSpec, ...] = ()
