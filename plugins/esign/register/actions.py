"""What a person can do to a document from the register or the CLI, each checked and recorded in the ledger.

Every action names its right and the stages it fits (one table, :data:`FITS`, used both to offer an action on
a page and to refuse it on the server); the acting person is the event's actor. Messages an action causes are
recorded in the outbox and sent at once (``deliver=False`` leaves the sending to the caller, for bulk actions
that send everything in one SMTP session).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from esign.access import AccessPolicy, AccessStore, CrmOrgChart, Principal, Right
from esign.dispatch.records import OutboxEntry
from esign.errors import EsignError, StoreError
from esign.i18n import N_
from esign.model import Stage
from esign.pipeline import writeback
from esign.pipeline.services import Services
from esign.register.delivery import deliver_now
from esign.register.errors import (
    BAD_DAYS,
    CHANGED,
    FILE_MISSING,
    NO_LINK,
    NO_VERSION,
    NOT_CANCELABLE,
    NOT_EXTENDABLE,
    NOT_WAITING,
    NOTHING_TO_WRITE_BACK,
    UNKNOWN_DOCUMENT,
    ActionError,
    Msg,
)
from esign.register.notices import cancel_notice
from esign.register.resend import Resend, queue_resend
from esign.requests.records import RequestStatus
from esign.requests.schema import signing_requests
from esign.requests.signer_states import states_for
from esign.store import DocumentRecord, EventInfo
from esign.store.records import as_utc

MAX_EXTEND_DAYS = 90
#: The CRM write-back of a cancel: the deal goes to the review stage (``stages.quarantined``, "Dados a corrigir"),
#: where a person decides whether it starts over (back to the trigger stage) or is lost.
CANCEL_TARGET = "quarantined"
_OPEN_LINK = (Stage.SENT, Stage.VIEWED)
#: Each action's right and the stages it fits.
FITS: dict[str, tuple[Right, tuple[Stage, ...]]] = {
    "resend": (Right.DOCUMENTS_RESEND, _OPEN_LINK),
    "extend": (Right.DOCUMENTS_EDIT, (Stage.COMPANY_SIGNED, *_OPEN_LINK)),
    "cancel": (Right.DOCUMENTS_CANCEL, (Stage.DRAFT, Stage.COMPANY_SIGNED, *_OPEN_LINK)),
    "write_back": (Right.DOCUMENTS_CANCEL, (Stage.CANCELED,)),
}
VERSION_KINDS = {"rendered": N_("Generated"), "company_signed": N_("Signed by the company"),
                 "final": N_("Final, signed by all")}


@dataclass(frozen=True, slots=True)
class Canceled:
    """What a cancel did: the CRM write-back (``done``, ``pending`` after a refusal, ``none`` for a document
    that came from no batch run) and the signers' notices (none when no signer had a live link)."""

    document_id: str
    crm: str
    crm_error: str = ""
    notice: OutboxEntry | None = None  # the first signer's (the only one of a one-signer document)
    notices: tuple[OutboxEntry, ...] = ()  # one per signer whose link was live


class DocumentActions:
    """Checked actions for one worker's services."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.ledger = services.ws.ledger
        self.store = AccessStore(services.ws.engine)
        self.policy = AccessPolicy(CrmOrgChart(lambda: services.crm))

    def document(self, principal: Principal, document_id: str, right: Right = Right.DOCUMENTS_VIEW) -> DocumentRecord:
        """The document, when ``principal`` holds ``right`` on it; an unknown one is refused the same way."""
        record = self.ledger.maybe_get(document_id)
        self.policy.require(principal, right, record.manager_id if record else None, document_id)
        if record is None:  # only reached at level "all": below it, a missing manager is refused above
            raise ActionError(UNKNOWN_DOCUMENT, id=document_id)
        return record

    def offered(self, principal: Principal, record: DocumentRecord) -> list[str]:
        """The actions this person may take on this document now (what its page offers)."""
        found = [name for name, (right, stages) in FITS.items()
                 if record.stage in stages and self.policy.allows(principal, right, record.manager_id)]
        if "write_back" in found and not self.crm_pending(record):
            found.remove("write_back")
        return found

    def _checked(self, principal: Principal, document_id: str, action: str) -> DocumentRecord:
        right, stages = FITS[action]
        record = self.document(principal, document_id, right)
        if record.stage not in stages:
            message = {"resend": NOT_WAITING, "extend": NOT_EXTENDABLE, "cancel": NOT_CANCELABLE,
                       "write_back": NOTHING_TO_WRITE_BACK}[action]
            raise ActionError(message, id=document_id, stage=record.stage)
        return record

    def _info(self, principal: Principal, detail: str) -> EventInfo:
        return EventInfo(actor=principal.label, channel="staff", detail=detail)

    # -- cancel ---------------------------------------------------------------------------------------
    def cancel(self, principal: Principal, document_id: str, reason: str = "", *, deliver: bool = True) -> Canceled:
        """Close the open link, move the document to ``canceled``, write it back to the CRM and tell the client."""
        record = self._checked(principal, document_id, "cancel")
        live = [s.request for s in states_for(self.services.requests, record)
                if s.is_open and s.request is not None]
        try:  # the links closed and the document canceled commit together
            closed = self.services.requests.cancel(document_id, self._info(principal, reason.strip()[:500]))
        except StoreError as exc:  # a signer signed or declined in the same instant
            raise ActionError(CHANGED, id=document_id, stage=self.ledger.get(document_id).stage) from exc
        record = self.ledger.get(document_id)
        crm, crm_error = self._write_back(principal, record, reason)
        notices: list[OutboxEntry] = []
        if closed:  # each signer who had a live link is told it no longer works
            notices = [self.services.outbox.enqueue(cancel_notice(self.services, record, request))
                       for request in live]
            if deliver and notices:
                sent = deliver_now(self.services, [n.id for n in notices])
                notices = [sent.get(n.id, n) for n in notices]
        return Canceled(document_id, crm, crm_error, notices[0] if notices else None, tuple(notices))

    def _write_back(self, principal: Principal, record: DocumentRecord, reason: str) -> tuple[str, str]:
        if record.batch_id is None:
            return "none", ""
        t = self.services.ws.company.translator()
        comment = t.gettext("Contract %(id)s canceled by %(who)s before the client signed. Reason: %(reason)s") % {
            "id": record.id, "who": principal.label, "reason": reason.strip()[:500] or t.gettext("not given")}
        try:
            writeback.write_back(self.services, record, CANCEL_TARGET, comment)
        except EsignError as exc:  # the intent stays pending; the document page offers to try again
            return "pending", str(exc)
        return ("done" if writeback.is_done(self.services, record.id, CANCEL_TARGET) else "pending"), ""

    def crm_pending(self, record: DocumentRecord) -> bool:
        """A canceled document from a batch run whose CRM write-back has not been done yet."""
        return (record.stage is Stage.CANCELED and record.batch_id is not None
                and not writeback.is_done(self.services, record.id, CANCEL_TARGET))

    def retry_write_back(self, principal: Principal, document_id: str) -> Canceled:
        """Try the CRM write-back of a cancel again (after the CRM refused or was down)."""
        record = self._checked(principal, document_id, "write_back")
        if not self.crm_pending(record):
            raise ActionError(NOTHING_TO_WRITE_BACK, id=document_id)
        reason = next((e.detail for e in reversed(self.ledger.events(document_id)) if e.action == "canceled"), "")
        crm, error = self._write_back(principal, record, reason)
        return Canceled(document_id, crm, error)

    # -- resend and extend ------------------------------------------------------------------------------
    def resend(self, principal: Principal, document_id: str, *, deliver: bool = True,
               signer: int | None = None) -> tuple[Resend, OutboxEntry]:
        """Send a signer's link again now (or find the resend made moments ago); the outbox row as it ended.
        ``signer``: the signer's position; None: the first signer whose link is open."""
        record = self._checked(principal, document_id, "resend")
        outcome = queue_resend(self.services, record, datetime.now(UTC), signer)
        if not outcome.repeated:
            detail = f"#{outcome.entry_id}" + (f" (signer {signer})" if signer is not None else "")
            self.ledger.log(document_id, "resend_queued", self._info(principal, detail))
        entry = self.services.outbox.get(outcome.entry_id)
        assert entry is not None
        if deliver and not outcome.repeated:
            entry = deliver_now(self.services, [entry.id]).get(entry.id, entry)
        return outcome, entry

    def extend(self, principal: Principal, document_id: str, days: int) -> datetime:
        """Push the open links' expiry ``days`` further (from now if already past); the new expiry (the latest one,
        when several signers' links are open: each is pushed from its own expiry)."""
        self._checked(principal, document_id, "extend")
        if not 1 <= days <= MAX_EXTEND_DAYS:
            raise ActionError(BAD_DAYS, max=MAX_EXTEND_DAYS, days=days)
        with self.services.ws.engine.begin() as conn:
            rows = conn.execute(select(signing_requests.c.id, signing_requests.c.expires_at)
                                .where(signing_requests.c.document_id == document_id,
                                       signing_requests.c.status == RequestStatus.OPEN.value)
                                .order_by(signing_requests.c.attempt)).all()
            if not rows:
                raise ActionError(NO_LINK, id=document_id)
            moment = datetime.now(UTC)
            new = moment
            for row in rows:
                expiry = max(as_utc(row.expires_at), moment).replace(microsecond=0) + timedelta(days=days)
                conn.execute(signing_requests.update().where(signing_requests.c.id == row.id,
                                                             signing_requests.c.status == RequestStatus.OPEN.value)
                             .values(expires_at=expiry))
                new = max(new, expiry)
            self.ledger.log(document_id, "expiry_extended", self._info(principal, f"+{days} → {new.isoformat()}"),
                            conn=conn)
        return new

    # -- files ----------------------------------------------------------------------------------------
    def version_file(self, principal: Principal, document_id: str, kind: str) -> Path:
        """The stored file of one version, for a download. Every version carries the parties' data (names,
        CPF/CNPJ), so downloading needs ``parties.view`` on the document besides ``documents.view``."""
        record = self.document(principal, document_id)
        self.policy.require(principal, Right.PARTIES_VIEW, record.manager_id, document_id)
        version = self.ledger.version(document_id, kind)
        if version is None:
            raise ActionError(NO_VERSION, id=document_id, kind=Msg(VERSION_KINDS.get(kind, kind)))
        path = Path(version.path)
        if not path.is_absolute():
            path = self.services.ws.settings.documents_dir / path
        if not path.is_file():
            raise ActionError(FILE_MISSING, id=document_id, kind=Msg(VERSION_KINDS.get(kind, kind)))
        return path

    def downloaded(self, principal: Principal, document_id: str, how: str) -> None:
        self.ledger.log(document_id, "downloaded", self._info(principal, how))
