"""Where each signer of a document stands, as every surface that shows it reads it: the portal, the register, the
/verify page and the reports.

A signer's state is the status of their latest signing request (the highest attempt with that document and
signer position): ``signed``, ``declined``, ``expired``, ``canceled``; an open request is ``viewed`` once its link
was opened, else ``invited``; a signer with no request yet is ``waiting`` (a later routing order, or the document
not sent yet). The rule itself is :func:`esign.requests.progress.state_of` (the one the answer transaction and the
invitation step use); this module applies it to a document's signers for the pages, with the words people read
for states and roles (translated where shown).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from esign.i18n import Translator
from esign.model.signers import SignerRole, SignerSpec, copy_recipients
from esign.requests.progress import SignerState
from esign.requests.progress import state_of as progress_state
from esign.requests.records import RequestStatus, SigningRequest
from esign.requests.service import SigningRequests
from esign.store import DocumentRecord

__all__ = ["OPEN_STATES", "SignerState", "SignerStatus", "copies", "declined_by_other", "latest_by_signer",
           "role_label", "role_labels", "signer_states", "state_from", "state_label", "state_labels", "state_of",
           "states_for", "states_for_many"]

#: States in which a signer may still act on their link.
OPEN_STATES = frozenset({SignerState.INVITED, SignerState.VIEWED})
_SIGNING = SignerSpec(position=1, role=SignerRole.SIGNER, name="")  # any signing signer: the rule needs the role
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def state_of(request: SigningRequest | None) -> SignerState:
    """The state a signing signer is in when ``request`` is their latest request (None: they have none yet)."""
    return progress_state(_SIGNING, request)


def state_from(status: RequestStatus | str | None, viewed: bool) -> SignerState:
    """:func:`state_of` for callers holding a request's status and whether it was opened rather than the request
    (the reports' rows); None: no request."""
    if status is None:
        return state_of(None)
    request = SigningRequest(id="", document_id="", attempt=1, channel="", destination="", masked_destination="",
                             status=RequestStatus(status), created_at=_EPOCH, expires_at=_EPOCH,
                             viewed_at=_EPOCH if viewed else None)
    return state_of(request)


def state_labels(t: Translator) -> dict[str, str]:
    """What people read for a signer's state, by state (context ``signer state``: "Assinou", not "Assinado")."""
    return {
        SignerState.WAITING: t.pgettext("signer state", "Waiting for their turn"),
        SignerState.INVITED: t.pgettext("signer state", "Invited"),
        SignerState.VIEWED: t.pgettext("signer state", "Opened the document"),
        SignerState.SIGNED: t.pgettext("signer state", "Signed"),
        SignerState.DECLINED: t.pgettext("signer state", "Declined"),
        SignerState.EXPIRED: t.pgettext("signer state", "Link expired"),
        SignerState.CANCELED: t.pgettext("signer state", "Canceled"),
        SignerState.COPY: t.pgettext("signer state", "Receives the final PDF"),
    }


def role_labels(t: Translator) -> dict[str, str]:
    """What people read for a signer's role, by role."""
    return {
        SignerRole.SIGNER: t.pgettext("signer role", "Signer"),
        SignerRole.WITNESS: t.pgettext("signer role", "Witness"),
        SignerRole.COPY: t.pgettext("signer role", "Receives a copy"),
    }


def state_label(state: SignerState | str, t: Translator) -> str:
    """A state as the reader reads it (an unknown code as itself)."""
    return state_labels(t).get(str(state), str(state))


def role_label(role: SignerRole | str, t: Translator) -> str:
    return role_labels(t).get(str(role), str(role))


@dataclass(frozen=True, slots=True)
class SignerStatus:
    """One signing person of a document with their latest request and the state it puts them in."""

    spec: SignerSpec
    state: SignerState
    request: SigningRequest | None = None

    @property
    def position(self) -> int:
        return self.spec.position

    @property
    def role(self) -> SignerRole:
        return self.spec.role

    @property
    def name(self) -> str:
        """The name they signed with once signed, else the name the document gives them."""
        if self.request is not None and self.state is SignerState.SIGNED and self.request.signer_name:
            return self.request.signer_name
        return self.spec.name

    @property
    def signed_at(self) -> datetime | None:
        return self.request.signed_at if self.request is not None and self.state is SignerState.SIGNED else None

    @property
    def masked_destination(self) -> str:
        return self.request.masked_destination if self.request is not None else ""

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


def latest_by_signer(requests: Iterable[SigningRequest]) -> dict[int, SigningRequest]:
    """Each signer position's latest request (highest attempt) among ``requests``."""
    latest: dict[int, SigningRequest] = {}
    for request in requests:
        current = latest.get(request.signer)
        if current is None or request.attempt > current.attempt:
            latest[request.signer] = request
    return latest


def signer_states(record: DocumentRecord, requests: Iterable[SigningRequest]) -> list[SignerStatus]:
    """Every signing person of ``record`` (signers and witnesses, not copy recipients), by position, with their
    state. ``requests`` are the document's requests (all attempts, or only the latest per signer)."""
    latest = latest_by_signer(r for r in requests if r.document_id == record.id)
    return [SignerStatus(spec, state_of(latest.get(spec.position)), latest.get(spec.position))
            for spec in sorted(record.signers, key=lambda s: s.position) if spec.signs]


def copies(record: DocumentRecord) -> list[SignerSpec]:
    """Those who receive the final signed PDF and sign nothing."""
    return copy_recipients(record.signers)


def declined_by_other(statuses: Sequence[SignerStatus], position: int) -> SignerStatus | None:
    """A required signer other than ``position`` who declined (the document stops for everyone), if any."""
    return next((s for s in statuses
                 if s.position != position and s.spec.required and s.state is SignerState.DECLINED), None)


def states_for(requests: SigningRequests, record: DocumentRecord) -> list[SignerStatus]:
    """:func:`signer_states` of one document, each signer's latest request read through ``requests``."""
    return signer_states(record, requests.current_for_documents([record.id]).get(record.id, {}).values())


def states_for_many(requests: SigningRequests, records: Iterable[DocumentRecord]) -> Mapping[str, list[SignerStatus]]:
    """:func:`signer_states` of many documents, their requests read in one query per 500."""
    wanted = list(records)
    found = requests.current_for_documents([r.id for r in wanted])
    return {r.id: signer_states(r, found.get(r.id, {}).values()) for r in wanted}
