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
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from esign.dispatch.registry import channel_names, find_channel
from esign.errors import StoreError
from esign.model import ClientEvidence, Stage
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


class SigningRequests:
    """Creates, resolves and completes signing requests over the ledger's engine."""

    def __init__(self, engine: Engine, ledger: Ledger, link_secret: bytes,
                 clock: Callable[[], datetime] = utcnow) -> None:
        if len(link_secret) < 32:
            raise ValueError("the link secret must have at least 32 bytes")
        self.engine = engine
        self.ledger = ledger
        self._secret = link_secret
        self._clock = clock
        self._codes = OneTimeCodes(engine, ledger, link_secret, self.now, self.event_info)

    def now(self) -> datetime:
        return as_utc(self._clock())

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
    def create(self, document_id: str, channel: str, destination: str, expires_at: datetime) -> SigningRequest:
        """The document's open request, or a new one. Idempotent: a re-run gets the same request (and link)."""
        if find_channel(channel) is None:
            raise ValueError(f"channel must be one of {channel_names()}, not {channel!r}")
        if not destination.strip():
            raise ValueError("destination is empty")
        self.ledger.get(document_id)  # an unknown document is a programming error: StoreError
        for _ in range(3):
            latest = self.for_document(document_id)
            if latest is not None and latest.status not in (RequestStatus.EXPIRED, RequestStatus.CANCELED):
                return latest
            attempt = latest.attempt + 1 if latest else 1
            request_id = "REQ-" + _b64(secrets.token_bytes(16))
            token = _b64(hmac.new(self._secret, f"link:{request_id}".encode(), hashlib.sha256).digest())
            try:
                with self.engine.begin() as conn:
                    conn.execute(signing_requests.insert().values(
                        id=request_id, document_id=document_id, attempt=attempt, token_sha256=_sha256(token),
                        channel=channel, destination=destination.strip(),
                        masked_destination=mask_destination(destination.strip()),
                        status=RequestStatus.OPEN.value, created_at=self.now(), expires_at=as_utc(expires_at),
                    ))
            except IntegrityError:
                continue  # a concurrent caller created this attempt: read it back
            return self.get(request_id)
        raise StoreError(f"document {document_id}: could not create a signing request")

    def create_many(self, wanted: Sequence[tuple[str, str, str]],
                    expires_at: datetime) -> dict[str, SigningRequest]:
        """``create`` for many (document_id, channel, destination) in one read and one transaction.

        The result maps each document to its open request (an existing one is kept, as ``create`` does). If a
        concurrent caller created one of the same attempts meanwhile, the batch insert rolls back as a whole
        and each document goes through ``create`` on its own.
        """
        for _doc, channel, destination in wanted:
            if find_channel(channel) is None:
                raise ValueError(f"channel must be one of {channel_names()}, not {channel!r}")
            if not destination.strip():
                raise ValueError("destination is empty")
        ids = [doc for doc, _c, _d in wanted]
        if len(set(ids)) != len(ids):
            raise ValueError("the same document twice in one batch")
        known = self.ledger.existing_ids(ids)
        unknown = [doc for doc in ids if doc not in known]
        if unknown:  # a programming error, as in create
            raise StoreError(f"unknown document {unknown[0]!r}")
        latest = self.latest_for_documents(ids)
        result: dict[str, SigningRequest] = {}
        rows: list[dict[str, object]] = []
        now = self.now()
        for doc, channel, destination in wanted:
            current = latest.get(doc)
            if current is not None and current.status not in (RequestStatus.EXPIRED, RequestStatus.CANCELED):
                result[doc] = current
                continue
            request_id = "REQ-" + _b64(secrets.token_bytes(16))
            token = _b64(hmac.new(self._secret, f"link:{request_id}".encode(), hashlib.sha256).digest())
            rows.append(dict(
                id=request_id, document_id=doc, attempt=current.attempt + 1 if current else 1,
                token_sha256=_sha256(token), channel=channel, destination=destination.strip(),
                masked_destination=mask_destination(destination.strip()), status=RequestStatus.OPEN.value,
                created_at=now, expires_at=as_utc(expires_at),
            ))
        if rows:
            try:
                with self.engine.begin() as conn:
                    conn.execute(signing_requests.insert(), rows)
            except IntegrityError:  # a concurrent caller created one of these attempts: one by one
                return {doc: self.create(doc, channel, destination, expires_at) for doc, channel, destination in wanted}
            result.update(self.latest_for_documents([str(r["document_id"]) for r in rows]))
        return result

    def latest_for_documents(self, document_ids: Sequence[str]) -> dict[str, SigningRequest]:
        """``for_document`` for many documents in one query per 500: each document's latest request, if any."""
        found: dict[str, SigningRequest] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(document_ids), 500):
                chunk = list(document_ids[start:start + 500])
                query = (select(signing_requests).where(signing_requests.c.document_id.in_(chunk))
                         .order_by(signing_requests.c.document_id, signing_requests.c.attempt))
                for row in conn.execute(query):
                    request = SigningRequest.from_row(row)
                    found[request.document_id] = request  # ascending attempts: the last one wins
        return found

    def get(self, request_id: str) -> SigningRequest:
        with self.engine.connect() as conn:
            row = conn.execute(select(signing_requests).where(signing_requests.c.id == request_id)).first()
        if row is None:
            raise UnknownLinkError("este link não existe")
        return SigningRequest.from_row(row)

    def for_document(self, document_id: str) -> SigningRequest | None:
        """The document's latest request (any status), or None."""
        query = (select(signing_requests).where(signing_requests.c.document_id == document_id)
                 .order_by(signing_requests.c.attempt.desc()).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return SigningRequest.from_row(row) if row else None

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
        """Record the client's signature and move the document to client_signed, exactly once."""
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
                    Stage.CLIENT_SIGNED, "client_signed", self.event_info(request, ip, ua, detail))

    def decline(self, request: SigningRequest, reason: str, ip: str, ua: str) -> None:
        """Record the client's refusal with their reason and move the document to declined, exactly once."""
        self._check_open(request)
        text = clean_reason(reason)
        self._require_verified(request)
        now = self.now()
        self._close(request, {"status": RequestStatus.DECLINED.value, "closed_at": now, "decline_reason": text,
                              "sign_ip": ip[:64], "sign_user_agent": ua[:1000]},
                    DeclinedError("este documento já foi recusado"),
                    Stage.DECLINED, "declined", self.event_info(request, ip, ua, text))

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
               stage: Stage, action: str, info: EventInfo) -> None:
        """Close the request and move its document to ``stage``, with its event, in one transaction.

        The conditional UPDATE open -> closed comes first and holds the request's row until the commit: of two
        racing submits only one wins and moves the document, the other waits, matches no open row and gets
        ``lost`` without touching the document. Anything failing before the commit (the move refused because the
        document was canceled meanwhile, the database, the process) leaves the request open and the stage as it was.
        """
        try:
            with self.engine.begin() as conn:
                won = conn.execute(signing_requests.update()
                                   .where(signing_requests.c.id == request.id,
                                          signing_requests.c.status == RequestStatus.OPEN.value)
                                   .values(**values)).rowcount == 1
                if won:
                    self.ledger.move(request.document_id, stage, action, info, conn=conn)
        except StoreError:
            self._check_open(self.get(request.id))  # the document moved meanwhile: the client's precise error
            raise
        if not won:
            self._check_open(self.get(request.id))
            raise lost

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

    # -- evidence and the collect step ---------------------------------------------------------------
    def evidence(self, document_id: str) -> ClientEvidence:
        """What the certificate of completion prints about the client's signature."""
        found = self.evidence_many([document_id])
        if document_id not in found:
            raise RequestError(f"document {document_id} has no client signature", reason="not_signed")
        return found[document_id]

    def evidence_many(self, document_ids: Sequence[str]) -> dict[str, ClientEvidence]:
        """``evidence`` for many documents in one query; a document without a client signature is absent."""
        if not document_ids:
            return {}
        query = select(signing_requests).where(signing_requests.c.document_id.in_(list(document_ids)),
                                               signing_requests.c.status == RequestStatus.SIGNED.value)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return {row.document_id: ClientEvidence(
            signer_name=row.signer_name, signed_at=as_utc(row.signed_at), channel=row.channel,
            masked_destination=row.masked_destination, code_verified_at=as_utc(row.code_verified_at),
            ip=row.sign_ip or "", user_agent=row.sign_user_agent or "", typed_name=row.typed_name or "",
            drawn_png=row.drawn_png,
        ) for row in rows}

    def pending(self, older_than: timedelta) -> list[SigningRequest]:
        """Open, unexpired requests created more than ``older_than`` ago (candidates for a reminder)."""
        now = self.now()
        query = (select(signing_requests)
                 .where(signing_requests.c.status == RequestStatus.OPEN.value,
                        signing_requests.c.created_at <= now - older_than, signing_requests.c.expires_at > now)
                 .order_by(signing_requests.c.created_at))
        with self.engine.connect() as conn:
            return [SigningRequest.from_row(r) for r in conn.execute(query)]

    def expire_due(self, now: datetime | None = None) -> list[str]:
        """Close open requests past their expiry and move their documents to ``expired``; their ids."""
        moment = as_utc(now) if now is not None else self.now()
        query = select(signing_requests).where(signing_requests.c.status == RequestStatus.OPEN.value,
                                               signing_requests.c.expires_at <= moment)
        with self.engine.connect() as conn:
            due = [SigningRequest.from_row(r) for r in conn.execute(query)]
        expired: list[str] = []
        for request in due:
            with self.engine.begin() as conn:  # the request expired and its document moved commit together
                result = conn.execute(signing_requests.update()
                                      .where(signing_requests.c.id == request.id,
                                             signing_requests.c.status == RequestStatus.OPEN.value)
                                      .values(status=RequestStatus.EXPIRED.value, closed_at=moment))
                if result.rowcount != 1:
                    continue  # signed or declined meanwhile
                if self.ledger.get(request.document_id, conn=conn).stage in _ACTIVE_STAGES:
                    self.ledger.move(request.document_id, Stage.EXPIRED, "expired",
                                     EventInfo(actor="pipeline", channel=request.channel, detail="link expirado"),
                                     conn=conn)
            expired.append(request.document_id)
        return expired

    @staticmethod
    def event_info(request: SigningRequest, ip: str, ua: str, detail: str = "") -> EventInfo:
        """The ledger's who/where for something the client did through this request."""
        return EventInfo(actor="client", channel=request.channel, ip=ip, user_agent=ua, detail=detail)
