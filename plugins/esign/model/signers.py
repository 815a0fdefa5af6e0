"""Who signs a document, in which role and order: plain data, fixed when the document is created.

A document has one or more signers besides the company's director (whose signature is the PAdES one applied
after the batch's approval): the client's signers (partners signing for a company, a guarantor), witnesses
(testemunhas, with name and CPF as Brazilian contracts print them), an optional second company signer, and
copy recipients, who sign nothing and receive the final PDF. ``order`` is the routing order: signers sharing an
order are invited together (parallel); a higher order is invited once every required signer of the lower
orders signed (sequential). ``slot`` names the signature block the signer fills: ``client`` for the first client
signer (the one-signer layout every template has), ``client_2``..., ``witness_1``..., ``company_2``.

A document created before several signers existed stores none: :func:`signers_or_default` gives it its one
client signer from the counterparty columns, so old and new documents go through the same code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any


class SignerRole(StrEnum):
    SIGNER = "signer"  # signs for a party (the client, or the company's second signer)
    WITNESS = "witness"  # signs as a witness (testemunha): name and CPF under the block
    COPY = "copy"  # signs nothing; gets the final signed PDF


class SignerSide(StrEnum):
    CLIENT = "client"
    COMPANY = "company"


class SigningOrder(StrEnum):
    SEQUENTIAL = "sequential"  # one routing order after the other
    PARALLEL = "parallel"  # everybody invited at once


#: Where the second company signer goes relative to the client side.
COMPANY_POSITIONS = ("before", "after")


@dataclass(frozen=True, slots=True)
class SignerSpec:
    """One person asked to sign (or to receive a copy of) one document."""

    position: int  # 1-based, unique within the document; the primary client signer is 1
    role: SignerRole
    name: str
    tax_id: str = ""  # CPF (digits); required of witnesses
    email: str = ""
    phone: str = ""  # E.164 once normalised
    order: int = 1  # routing order (see the module docstring)
    side: SignerSide = SignerSide.CLIENT
    required: bool = True  # a required signer's decline stops the document
    slot: str = ""  # the signature block this signer fills; empty for copies
    language: str = ""  # the signer's language when the CRM gives one
    contact_id: str = ""  # the CRM's id of the contact, when it came from one

    @property
    def signs(self) -> bool:
        """A signer or a witness (not a copy recipient)."""
        return self.role is not SignerRole.COPY

    def to_dict(self) -> dict[str, Any]:
        return {"position": self.position, "role": self.role.value, "name": self.name, "tax_id": self.tax_id,
                "email": self.email, "phone": self.phone, "order": self.order, "side": self.side.value,
                "required": self.required, "slot": self.slot, "language": self.language,
                "contact_id": self.contact_id}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SignerSpec:
        return cls(position=int(data["position"]), role=SignerRole(data["role"]), name=str(data.get("name", "")),
                   tax_id=str(data.get("tax_id", "")), email=str(data.get("email", "")),
                   phone=str(data.get("phone", "")), order=int(data.get("order", 1)),
                   side=SignerSide(data.get("side", "client")), required=bool(data.get("required", True)),
                   slot=str(data.get("slot", "")), language=str(data.get("language", "")),
                   contact_id=str(data.get("contact_id", "")))


def slot_names(signers: Sequence[SignerSpec]) -> list[SignerSpec]:
    """The signers with their signature blocks named: client, client_2, ...; witness_1, ...; company_2, ...
    (positions kept; copies get none)."""
    counts = {"client": 0, "witness": 0, "company": 1}  # the director holds "company"
    named: list[SignerSpec] = []
    for signer in signers:
        if not signer.signs:
            named.append(replace(signer, slot=""))
            continue
        kind = ("witness" if signer.role is SignerRole.WITNESS
                else "company" if signer.side is SignerSide.COMPANY else "client")
        counts[kind] += 1
        number = counts[kind]
        slot = "client" if kind == "client" and number == 1 else f"{kind}_{number}"
        named.append(replace(signer, slot=slot))
    return named


def arrange(signers: Iterable[SignerSpec], mode: SigningOrder | str, *, company: str = "before",
            optional_roles: Iterable[SignerRole | str] = ()) -> tuple[SignerSpec, ...]:
    """Number, order and name the blocks of a document's signers.

    Client signers keep the order they came in (the CRM's SORT), witnesses follow them, the second company
    signer goes ``before`` or ``after`` the client side, copies last. Sequential: each signing person gets the next
    routing order; parallel: all share order 1. Roles in ``optional_roles`` are not required (their decline does
    not stop the document). Copies get the order after the last signer (they act when the document completes).
    """
    if company not in COMPANY_POSITIONS:
        raise ValueError(f"company: must be one of {COMPANY_POSITIONS}, not {company!r}")
    mode = SigningOrder(mode)
    optional = {SignerRole(r) for r in optional_roles}
    items = list(signers)
    clients = [s for s in items if s.side is SignerSide.CLIENT and s.role is SignerRole.SIGNER]
    witnesses = [s for s in items if s.role is SignerRole.WITNESS]
    cosigners = [s for s in items if s.side is SignerSide.COMPANY and s.role is SignerRole.SIGNER]
    copies = [s for s in items if s.role is SignerRole.COPY]
    signing = (cosigners + clients + witnesses) if company == "before" else (clients + cosigners + witnesses)
    ordered: list[SignerSpec] = []
    for index, signer in enumerate(signing, start=1):
        order = index if mode is SigningOrder.SEQUENTIAL else 1
        ordered.append(replace(signer, order=order, required=signer.role not in optional))
    last = max((s.order for s in ordered), default=0) + 1
    ordered += [replace(s, order=last, required=False) for s in copies]
    numbered = [replace(s, position=n) for n, s in enumerate(_primary_first(ordered), start=1)]
    return tuple(slot_names(sorted(numbered, key=lambda s: s.position)))


def _primary_first(signers: list[SignerSpec]) -> list[SignerSpec]:
    """Positions: the first client signer is 1 (the document's counterparty contact), then the routing order."""
    first = next((s for s in signers if s.side is SignerSide.CLIENT and s.role is SignerRole.SIGNER), None)
    rest = [s for s in signers if s is not first]
    return ([first] if first is not None else []) + rest


def default_signer(name: str, tax_id: str, email: str, phone: str, language: str = "") -> SignerSpec:
    """The one client signer of a document whose deal names no signers: its counterparty's contact."""
    return SignerSpec(position=1, role=SignerRole.SIGNER, name=name, tax_id=tax_id, email=email, phone=phone,
                      order=1, slot="client", language=language)


def signing_signers(signers: Sequence[SignerSpec]) -> list[SignerSpec]:
    """Those who sign (signers and witnesses), by routing order then position."""
    return sorted((s for s in signers if s.signs), key=lambda s: (s.order, s.position))


def copy_recipients(signers: Sequence[SignerSpec]) -> list[SignerSpec]:
    return [s for s in signers if s.role is SignerRole.COPY]


def signer_label(signer: SignerSpec) -> str:
    """How the audit trail names a signer (stored in event details, which are Portuguese like the rest of them)."""
    if signer.role is SignerRole.WITNESS:
        return f"testemunha {signer.slot.rsplit('_', 1)[-1]}: {signer.name}"
    if signer.side is SignerSide.COMPANY:
        return f"signatário da empresa: {signer.name}"
    return f"signatário {signer.position}: {signer.name}"
