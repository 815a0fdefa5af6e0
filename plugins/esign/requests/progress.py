"""Where a document with several signers stands: each signer's state, who answered, whose turn it is, whether it
is complete.

Pure functions over the document's signers (``esign.model.signers``) and each signer's current request, so the
answer transaction, the invitation step and the pages (through :mod:`esign.requests.signer_states`) judge alike.
A signer has *answered* when they signed, or when they are not required and declined or let their link expire; a
routing order is done when all its signers answered; the document is complete when every order is done (a
required signer's decline or expiry ends the document instead, elsewhere).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

from esign.model.signers import SignerSpec, signing_signers
from esign.requests.records import RequestStatus, SigningRequest


class SignerState(StrEnum):
    WAITING = "waiting"  # their turn has not come (sequential), or not invited yet
    INVITED = "invited"  # a live link, not opened yet
    VIEWED = "viewed"  # opened their link
    SIGNED = "signed"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELED = "canceled"
    COPY = "copy"  # signs nothing; receives the final PDF


def state_of(signer: SignerSpec, request: SigningRequest | None) -> SignerState:
    if not signer.signs:
        return SignerState.COPY
    if request is None:
        return SignerState.WAITING
    if request.status is RequestStatus.OPEN:
        return SignerState.VIEWED if request.viewed_at is not None else SignerState.INVITED
    return SignerState(request.status.value)


def answered(signer: SignerSpec, request: SigningRequest | None) -> bool:
    if request is None:
        return False
    if request.status is RequestStatus.SIGNED:
        return True
    return not signer.required and request.status in (RequestStatus.DECLINED, RequestStatus.EXPIRED)


def due(signers: Sequence[SignerSpec], current: Mapping[int, SigningRequest]) -> list[SignerSpec]:
    """The signers to invite now: those of the first routing order not done yet who hold no live or answered request
    (none at all, or one canceled/expired while not required). Empty when the document is complete."""
    for order in sorted({s.order for s in signing_signers(signers)}):
        group = [s for s in signing_signers(signers) if s.order == order]
        if all(answered(s, current.get(s.position)) for s in group):
            continue
        return [s for s in group if (r := current.get(s.position)) is None
                or (r.status is RequestStatus.CANCELED and not answered(s, r))]
    return []


def complete(signers: Sequence[SignerSpec], current: Mapping[int, SigningRequest]) -> bool:
    """Every signing signer answered, and at least one signed (a document nobody signed is never complete)."""
    people = signing_signers(signers)
    return (all(answered(s, current.get(s.position)) for s in people)
            and any((r := current.get(s.position)) is not None and r.status is RequestStatus.SIGNED for s in people))
