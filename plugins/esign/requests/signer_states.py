"""Where each signer of a document stands, derived in one place for every surface that shows it.

A signer's state is the status of their latest signing request (the highest attempt with that document and
signer position): ``signed``, ``declined``, ``expired``, ``canceled``; an open request is ``viewed`` once its link
was opened, else ``invited``; a signer with no request yet is ``waiting`` (a later routing order, or the document
not sent yet). The signing portal, the staff register, the /verify page and the reports all read it from here,
with the words people read for states and roles (marked for the catalogue, translated where shown).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Engine, select

from esign.i18n import Translator
from esign.model.signers import SignerRole, SignerSpec, copy_recipients
from esign.requests.records import RequestStatus, SigningRequest
from esign.requests.schema import signing_requests
from esign.store import DocumentRecord


class SignerState(StrEnum):
    WAITING = "waiting"  # no request yet
    INVITED = "invited"  # an open request whose link was not opened
    VIEWED = "viewed"  # an open request whose link was opened
    SIGNED = "signed"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELED = "canceled"  # staff canceled the document (or the request was replaced and not yet renewed)


#: States in which a signer may still act on their link.
OPEN_STATES = frozenset({SignerState.INVITED, SignerState.VIEWED})


def state_from(status: RequestStatus | str | None, viewed: bool) -> SignerState:
    """The state of a signer whose latest request has ``status`` (None: no request) and was opened or not (the
    rule itself, for callers holding rows rather than requests, such as the reports)."""
    if status is None:
        return SignerState.WAITING
    if RequestStatus(status) is RequestStatus.OPEN:
        return SignerState.VIEWED if viewed else SignerState.INVITED
    return SignerState(RequestStatus(status).value)


def state_of(request: SigningRequest | None) -> SignerState:
    """The state a signer is in when ``request`` is their latest request (None: they have none yet)."""
    if request is None:
        return SignerState.WAITING
    return state_from(request.status, request.viewed_at is not None)


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


def document_requests(engine: Engine, document_ids: Sequence[str]) -> dict[str, list[SigningRequest]]:
    """Every request (all signers, all attempts) of these documents, oldest attempt first, in one query per 500."""
    found: dict[str, list[SigningRequest]] = {doc: [] for doc in document_ids}
    with engine.connect() as conn:
        for start in range(0, len(document_ids), 500):
            chunk = list(document_ids[start:start + 500])
            query = (select(signing_requests).where(signing_requests.c.document_id.in_(chunk))
                     .order_by(signing_requests.c.document_id, signing_requests.c.attempt))
            for row in conn.execute(query):
                request = SigningRequest.from_row(row)
                found.setdefault(request.document_id, []).append(request)
    return found


def states_for(engine: Engine, record: DocumentRecord) -> list[SignerStatus]:
    """:func:`signer_states` of one document, its requests read from the database."""
    return signer_states(record, document_requests(engine, [record.id])[record.id])


def states_for_many(engine: Engine, records: Iterable[DocumentRecord]) -> Mapping[str, list[SignerStatus]]:
    """:func:`signer_states` of many documents, their requests read in one query per 500."""
    wanted = list(records)
    found = document_requests(engine, [r.id for r in wanted])
    return {r.id: signer_states(r, found.get(r.id, [])) for r in wanted}
