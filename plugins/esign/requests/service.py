"""Signing requests: the link a client gets, the one-time code that proves they hold the channel, and the
client's signature or refusal, each recorded in the ledger exactly once.

The link token is never stored. It is ``base64url(HMAC-SHA256(link_secret, request_id))``: after a crash a
re-run rebuilds the very same link from the request id, and the database keeps only SHA-256(token) to find
the request. Codes are stored as HMAC(link_secret, request_id:code) and compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from esign.dispatch.registry import channel_names, find_channel
from esign.errors import StoreError
from esign.model import Stage
from esign.model.signers import signer_label, signing_signers
from esign.requests.codes import CODE_MAX_FAILURES as CODE_MAX_FAILURES  # where it was defined before
from esign.requests.codes import CodeSender, OneTimeCodes
from esign.requests.errors import (
    AlreadySignedError,
    CanceledError,
    DeclinedError,
    LinkExpiredError,
    NotReadyError,
    NotVerifiedError,
    RequestError,
    UnknownLinkError,
)
from esign.requests.inputs import clean_name, clean_reason, mask_destination, normalise_png
from esign.requests.progress import complete
from esign.requests.reads import RequestReads, signer_of
from esign.requests.records import RequestStatus, SigningRequest
from esign.requests.schema import signing_requests
from esign.store import EventInfo, Ledger
from esign.store.ledger import utcnow
from esign.store.records import as_utc
from esign.store.schema import events

VERIFIED_TTL = timedelta(minutes=15)
#: A client (IP and browser) opening the same link again within this window is not logged again.
VIEW_WINDOW = timedelta(minutes=30)
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
#: Stages in which a client may still act on a link.
_ACTIVE_STAGES = (Stage.COMPANY_SIGNED, Stage.SENT, Stage.VIEWED)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()


class SigningRequests(RequestReads):
    """Creates, resolves and completes signing requests over the ledger's engine (the reads: ``RequestReads``)."""

    def __init__(self, engine: Engine, ledger: Ledger, link_secret: bytes,
                 clock: Callable[[], datetime] = utcnow) -> None:
        if len(link_secret) < 32:
            raise ValueError("the link secret must have at least 32 bytes")
        super().__init__(engine, ledger, clock)
        self._secret = link_secret
        self._codes = OneTimeCodes(engine, ledger, link_secret, self.now, self.event_info)

    # -- secrets -------------------------------------------------------------------------------------
    def token_for(self, request: SigningRequest) -> str:
        """The link token (256 bits), rebuilt from the request id; never stored."""
        return _b64(hmac.new(self._secret, f"link:{request.id}".encode(), hashlib.sha256).digest())

    def link_for(self, request: SigningRequest, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/s/{self.token_for(request)}"

    def derive_key(self, purpose: str) -> bytes:
        """A key for another purpose (the portal's CSRF tokens), so the edge configures one secret only."""
        return hmac.new(self._secret, f"key:{purpose}".encode(), hashlib.sha256).digest()

    # -- create / read -------------------------------------------------------------------------------
    def create(self, document_id: str, channel: str, destination: str, expires_at: datetime,
               signer: int = 1) -> SigningRequest:
        """The signer's open request, or a new one. Idempotent: a re-run gets the same request (and link)."""
        return self.create_for_signers([(document_id, signer, channel, destination)], expires_at)[(document_id, signer)]

    def create_many(self, wanted: Sequence[tuple[str, str, str]],
                    expires_at: datetime) -> dict[str, SigningRequest]:
        """``create`` for many (document_id, channel, destination) of signer 1, by document."""
        made = self.create_for_signers([(doc, 1, channel, dest) for doc, channel, dest in wanted], expires_at)
        return {doc: request for (doc, _signer), request in made.items()}

    def create_for_signers(self, wanted: Sequence[tuple[str, int, str, str]],
                           expires_at: datetime) -> dict[tuple[str, int], SigningRequest]:
        """Each (document_id, signer, channel, destination)'s current request, created when the signer has none that
        still counts (an expired or canceled one is reissued); one read and one transaction for the lot.

        Attempts number a document's requests across its signers, and (document_id, attempt) is unique: of two
        concurrent callers creating the same signer's request one insert fails, the batch rolls back as a whole,
        and each signer goes again on its own, reading back what the other created.
        """
        for _doc, _signer, channel, destination in wanted:
            if find_channel(channel) is None:
                raise ValueError(f"channel must be one of {channel_names()}, not {channel!r}")
            if not destination.strip():
                raise ValueError("destination is empty")
        keys = [(doc, signer) for doc, signer, _c, _d in wanted]
        if len(set(keys)) != len(keys):
            raise ValueError("the same signer twice in one batch")
        ids = list(dict.fromkeys(doc for doc, _s, _c, _d in wanted))
        known = self.ledger.existing_ids(ids)
        unknown = [doc for doc in ids if doc not in known]
        if unknown:  # a programming error
            raise StoreError(f"unknown document {unknown[0]!r}")
        for _ in range(3):
            # one read gives both: numbering from a later read could miss a request a concurrent caller made
            # between the two and give the same signer a second one
            rows_read = self._requests_of(ids)
            current: dict[str, dict[int, SigningRequest]] = {}
            attempts: dict[str, int] = {}
            for found in rows_read:  # ascending attempts: the last one wins
                current.setdefault(found.document_id, {})[found.signer] = found
                attempts[found.document_id] = max(attempts.get(found.document_id, 0), found.attempt)
            result: dict[tuple[str, int], SigningRequest] = {}
            rows: list[dict[str, object]] = []
            now = self.now()
            for doc, signer, channel, destination in wanted:
                latest = current.get(doc, {}).get(signer)
                if latest is not None and latest.status not in (RequestStatus.EXPIRED, RequestStatus.CANCELED):
                    result[(doc, signer)] = latest
                    continue
                attempts[doc] = attempts.get(doc, 0) + 1
                request_id = "REQ-" + _b64(secrets.token_bytes(16))
                token = _b64(hmac.new(self._secret, f"link:{request_id}".encode(), hashlib.sha256).digest())
                rows.append(dict(
                    id=request_id, document_id=doc, attempt=attempts[doc], signer=signer,
                    token_sha256=_sha256(token), channel=channel, destination=destination.strip(),
                    masked_destination=mask_destination(destination.strip()), status=RequestStatus.OPEN.value,
                    created_at=now, expires_at=as_utc(expires_at),
                ))
            if not rows:
                return result
            try:
                with self.engine.begin() as conn:
                    conn.execute(signing_requests.insert(), rows)
            except IntegrityError:
                if len(wanted) > 1:  # a concurrent caller created one of these attempts: one by one
                    merged: dict[tuple[str, int], SigningRequest] = {}
                    for item in wanted:
                        merged.update(self.create_for_signers([item], expires_at))
                    return merged
                continue  # the one signer: read back what the other caller created, or number again
            fresh = self.current_for_documents([str(r["document_id"]) for r in rows])
            for row in rows:
                key = (str(row["document_id"]), int(str(row["signer"])))
                result[key] = fresh[key[0]][key[1]]
            return result
        raise StoreError(f"document {wanted[0][0]}: could not create a signing request")

    def lookup(self, token: str) -> SigningRequest:
        """The request a token belongs to, whatever its status; UnknownLinkError for anything else."""
        if not _TOKEN_RE.match(token):
            raise UnknownLinkError("este link não existe")
        query = select(signing_requests).where(signing_requests.c.token_sha256 == _sha256(token))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise UnknownLinkError("este link não existe")
        request = SigningRequest.from_row(row)
        if not hmac.compare_digest(self.token_for(request), token):  # defence in depth against hash misuse
            raise UnknownLinkError("este link não existe")
        return request

    def resolve(self, token: str) -> SigningRequest:
        """The request behind a link, only if the client may still act on it; otherwise a RequestError."""
        request = self.lookup(token)
        self._check_open(request)
        return request

    def _check_open(self, request: SigningRequest) -> None:
        status = request.status
        stage = self.ledger.get(request.document_id).stage
        if status is RequestStatus.SIGNED or stage in (Stage.CLIENT_SIGNED, Stage.COMPLETED):
            raise AlreadySignedError("este documento já foi assinado")
        if status is RequestStatus.DECLINED or stage is Stage.DECLINED:
            raise DeclinedError("este documento foi recusado")
        if status is RequestStatus.CANCELED or stage in (Stage.CANCELED, Stage.FAILED):
            raise CanceledError("este pedido de assinatura foi cancelado")
        if status is RequestStatus.EXPIRED or stage is Stage.EXPIRED or self.now() >= request.expires_at:
            raise LinkExpiredError("este link expirou")
        if stage not in _ACTIVE_STAGES:
            raise NotReadyError("este documento ainda não está disponível para assinatura")

    # -- viewing -------------------------------------------------------------------------------------
    def mark_viewed(self, request: SigningRequest, ip: str, ua: str) -> bool:
        """First open moves the document sent -> viewed; a later open is a plain ``viewed`` event, at most once per
        ``VIEW_WINDOW`` for the same client (IP and browser): reloading the page is one view, not a line of the
        audit trail each time. Whether an event was written."""
        info = self.event_info(request, ip, ua)
        now = self.now()
        with self.engine.begin() as conn:  # the first view time and the move to viewed commit together
            conn.execute(signing_requests.update()
                         .where(signing_requests.c.id == request.id, signing_requests.c.viewed_at.is_(None))
                         .values(viewed_at=now))
            moved = False
            if self.ledger.get(request.document_id, conn=conn).stage is Stage.SENT:
                with suppress(StoreError):  # moved concurrently (another tab, expiry): just log the view below
                    moved = self.ledger.move(request.document_id, Stage.VIEWED, "viewed", info, conn=conn)
        if moved:
            return True
        query = (select(events.c.at).where(events.c.document_id == request.document_id, events.c.action == "viewed",
                                           events.c.ip == ip[:64], events.c.user_agent == ua[:1000])
                 .order_by(events.c.id.desc()).limit(1))
        with self.engine.connect() as conn:
            last = conn.execute(query).scalar()
        if last is not None and now - as_utc(last) < VIEW_WINDOW:
            return False
        self.ledger.log(request.document_id, "viewed", info)
        return True

    # -- one-time codes (esign.requests.codes) ----------------------------------------------------------
    def issue_code(self, request: SigningRequest, sender: CodeSender, ip: str, ua: str, intent: str = "sign") -> None:
        """Send a fresh 6-digit code, recorded ``code_sent`` only once the relay accepted it (see ``OneTimeCodes``);
        ``intent`` (sign, decline) is what the message says the code is for."""
        self._check_open(request)
        self._codes.issue(request, sender, ip, ua, intent)

    def check_code(self, request: SigningRequest, code: str, ip: str, ua: str) -> None:
        """Confirm the newest accepted code; the request becomes verified for 15 minutes."""
        self._check_open(request)
        self._codes.check(request, code, ip, ua)

    def is_verified(self, request: SigningRequest) -> bool:
        """A code was confirmed for this request less than 15 minutes ago (read fresh from the database)."""
        verified_at = self.get(request.id).verified_at
        return verified_at is not None and self.now() - verified_at < VERIFIED_TTL

    # -- sign / decline ------------------------------------------------------------------------------
    def sign(self, request: SigningRequest, typed_name: str, drawn_png: bytes | None, consent: bool,
             ip: str, ua: str) -> None:
        """Record the signer's signature exactly once; the document moves to client_signed with the last one."""
        self._check_open(request)
        if not consent:
            raise RequestError("é preciso concordar com os termos para assinar", reason="consent_required")
        name = clean_name(typed_name)
        png = normalise_png(drawn_png) if drawn_png else None
        current = self._require_verified(request)
        now = self.now()
        values = {
            "status": RequestStatus.SIGNED.value, "closed_at": now, "signed_at": now, "signer_name": name,
            "typed_name": name, "drawn_png": png, "code_verified_at": current.verified_at,
            "sign_ip": ip[:64], "sign_user_agent": ua[:1000],
        }
        detail = f"assinado por {name}" + (" (com assinatura desenhada)" if png else "")
        self._close(request, values, AlreadySignedError("este documento já foi assinado"),
                    "signed", self.event_info(request, ip, ua, detail))

    def decline(self, request: SigningRequest, reason: str, ip: str, ua: str) -> None:
        """Record the signer's refusal with their reason, exactly once; a required signer's refusal declines the
        document (the others' links close with it)."""
        self._check_open(request)
        text = clean_reason(reason)
        self._require_verified(request)
        now = self.now()
        self._close(request, {"status": RequestStatus.DECLINED.value, "closed_at": now, "decline_reason": text,
                              "sign_ip": ip[:64], "sign_user_agent": ua[:1000]},
                    DeclinedError("este documento já foi recusado"),
                    "declined", self.event_info(request, ip, ua, text))

    def _require_verified(self, request: SigningRequest) -> SigningRequest:
        """The request, fresh, if its code was confirmed recently and the ledger can take the client's answer."""
        current = self.get(request.id)
        self._check_open(current)  # a concurrent submit may have closed it since the caller resolved it
        stage = self.ledger.get(request.document_id).stage
        if stage not in (Stage.SENT, Stage.VIEWED):
            if stage not in (Stage.DRAFT, Stage.COMPANY_SIGNED):
                self._check_open(self.get(request.id))  # closed meanwhile: the precise error
            # still company_signed: the dispatch step has not recorded the send yet
            raise NotReadyError("este documento ainda não pode ser assinado; tente novamente em alguns minutos")
        if current.verified_at is None or self.now() - current.verified_at >= VERIFIED_TTL:
            raise NotVerifiedError("confirme o código de verificação antes de continuar")
        return current

    def _close(self, request: SigningRequest, values: dict[str, object], lost: RequestError,
               answer: str, info: EventInfo) -> None:
        """Close the request with the signer's answer and move its document as that answer decides, with its events,
        in one transaction.

        The document's row is locked first (a no-op UPDATE), so two signers of one document answering at the same
        instant are judged one after the other: the second sees the first's answer, and the last signature is the
        one that moves the document. The conditional UPDATE open -> closed then holds the request's row: of two
        racing submits of one link only one wins, the other matches no open row and gets ``lost`` without touching
        the document. Anything failing before the commit leaves the request open and the stage as it was.
        """
        try:
            with self.engine.begin() as conn:
                self.ledger.touch(request.document_id, conn=conn)
                won = conn.execute(signing_requests.update()
                                   .where(signing_requests.c.id == request.id,
                                          signing_requests.c.status == RequestStatus.OPEN.value)
                                   .values(**values)).rowcount == 1
                if won:
                    self._settle(conn, request, answer, info)
        except StoreError:
            self._check_open(self.get(request.id))  # the document moved meanwhile: the signer's precise error
            raise
        if not won:
            self._check_open(self.get(request.id))
            raise lost

    def _settle(self, conn: Connection, request: SigningRequest, answer: str, info: EventInfo) -> None:
        """After one signer's answer (or expiry) inside the caller's transaction: move the document to
        client_signed when every signer answered, to declined/expired when a required signer declined or let the
        link expire (closing the others' open links), or log the answer alone while others are still to sign."""
        record = self.ledger.get(request.document_id, conn=conn)
        signer = signer_of(record, request.signer)
        several = len(signing_signers(record.signers)) > 1
        label = f" ({signer_label(signer)})" if several else ""
        if answer in ("declined", "expired") and signer.required:
            conn.execute(signing_requests.update()
                         .where(signing_requests.c.document_id == request.document_id,
                                signing_requests.c.status == RequestStatus.OPEN.value)
                         .values(status=RequestStatus.CANCELED.value, closed_at=self.now()))
            target = Stage.DECLINED if answer == "declined" else Stage.EXPIRED
            if record.stage in _ACTIVE_STAGES or answer == "declined":
                self.ledger.move(request.document_id, target, answer, _detail(info, label), conn=conn)
            return
        current = self._current_in(conn, request.document_id)
        if answer == "signed" and complete(record.signers, current):
            self.ledger.move(request.document_id, Stage.CLIENT_SIGNED, "client_signed", _detail(info, label),
                             conn=conn)
        elif answer == "signed" or answer == "declined":
            self.ledger.log(request.document_id, f"signer_{answer}", _detail(info, label), conn=conn)
            if answer == "declined" and complete(record.signers, current):
                self.ledger.move(request.document_id, Stage.CLIENT_SIGNED, "client_signed",
                                 EventInfo(actor="pipeline", detail="todos os signatários responderam"), conn=conn)
        else:  # an optional signer's link expired
            self.ledger.log(request.document_id, "signer_expired", _detail(info, label), conn=conn)
            if complete(record.signers, current) and record.stage in (Stage.SENT, Stage.VIEWED):
                self.ledger.move(request.document_id, Stage.CLIENT_SIGNED, "client_signed",
                                 EventInfo(actor="pipeline", detail="todos os signatários responderam"), conn=conn)

    def _current_in(self, conn: Connection, document_id: str) -> dict[int, SigningRequest]:
        query = (select(signing_requests).where(signing_requests.c.document_id == document_id)
                 .order_by(signing_requests.c.attempt))
        return {r.signer: r for r in (SigningRequest.from_row(row) for row in conn.execute(query))}

    def cancel(self, document_id: str, info: EventInfo) -> bool:
        """Close the document's open link (if any) and move the document to canceled, in one transaction.

        Whether a live link was closed (the client is to be told). StoreError when the document cannot be
        canceled (the client signed or declined in the same instant): then nothing is written.
        """
        with self.engine.begin() as conn:
            closed = conn.execute(signing_requests.update()
                                  .where(signing_requests.c.document_id == document_id,
                                         signing_requests.c.status == RequestStatus.OPEN.value)
                                  .values(status=RequestStatus.CANCELED.value, closed_at=self.now())).rowcount
            self.ledger.move(document_id, Stage.CANCELED, "canceled", info, conn=conn)
        return closed > 0

    def expire_due(self, now: datetime | None = None) -> list[str]:
        """Close open requests past their expiry; a required signer's expiry moves the document to ``expired``
        (closing its other links), an optional one's is recorded and the others go on. The documents touched."""
        moment = as_utc(now) if now is not None else self.now()
        query = select(signing_requests).where(signing_requests.c.status == RequestStatus.OPEN.value,
                                               signing_requests.c.expires_at <= moment)
        with self.engine.connect() as conn:
            due = [SigningRequest.from_row(r) for r in conn.execute(query)]
        expired: list[str] = []
        for request in due:
            with self.engine.begin() as conn:  # the request expired and its document moved commit together
                self.ledger.touch(request.document_id, conn=conn)
                result = conn.execute(signing_requests.update()
                                      .where(signing_requests.c.id == request.id,
                                             signing_requests.c.status == RequestStatus.OPEN.value)
                                      .values(status=RequestStatus.EXPIRED.value, closed_at=moment))
                if result.rowcount != 1:
                    continue  # signed or declined meanwhile
                self._settle(conn, request, "expired",
                             EventInfo(actor="pipeline", channel=request.channel, detail="link expirado"))
            expired.append(request.document_id)
        return expired

    @staticmethod
    def event_info(request: SigningRequest, ip: str, ua: str, detail: str = "") -> EventInfo:
        """The ledger's who/where for something the client did through this request."""
        return EventInfo(actor="client", channel=request.channel, ip=ip, user_agent=ua, detail=detail)


def _detail(info: EventInfo, suffix: str) -> EventInfo:
    return replace(info, detail=info.detail + suffix) if suffix else info
