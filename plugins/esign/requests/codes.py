"""One-time codes: issued, handed to the relay, confirmed; each stored only as an HMAC keyed with the link secret.

A code exists for the client only once the relay accepted it: until then its row is ``sending`` and cannot be
used, a relay that refuses, fails or does not answer in time leaves it ``failed`` (never usable, however late it
might still arrive), and its 5 minutes start when the relay accepted it. Only accepted codes count against the
resend limits, so a client whose code could not be sent may ask again at once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NoReturn, Protocol

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from esign.requests.errors import CodeError, SendFailedError, ThrottledError
from esign.requests.records import SigningRequest
from esign.requests.schema import signing_codes, signing_requests
from esign.store import EventInfo, Ledger
from esign.store.records import as_utc

log = logging.getLogger(__name__)

CODE_TTL = timedelta(minutes=5)
CODE_MAX_FAILURES = 5
RESEND_INTERVAL = timedelta(seconds=60)
MAX_CODES_PER_HOUR = 5
MAX_CODES_PER_DAY = 10
#: A code still ``sending`` after this long was left by a process that died: it no longer blocks a new one.
IN_FLIGHT = timedelta(seconds=30)
SENDING, SENT, FAILED = "sending", "sent", "failed"


class CodeSender(Protocol):
    """Hands a one-time code to the request's channel (email or SMS). Wired by the edge.

    Returns only once the relay (SMTP server, SMS provider) accepted the message, within a few seconds; raises
    when it refused it, failed, or did not answer in time. Nothing may deliver the code later.
    """

    def send_code(self, request: SigningRequest, code: str, sequence: int, intent: str = "sign") -> None:
        """``intent`` says what the code confirms (``sign`` or ``decline``), so the message can say it."""
        ...


class OneTimeCodes:
    """Issues and checks the codes of signing requests; ``info`` builds the ledger's who/where of the client."""

    def __init__(self, engine: Engine, ledger: Ledger, secret: bytes, clock: Callable[[], datetime],
                 info: Callable[[SigningRequest, str, str, str], EventInfo]) -> None:
        self.engine = engine
        self.ledger = ledger
        self._secret = secret
        self._clock = clock
        self._info = info

    def _now(self) -> datetime:
        return as_utc(self._clock())

    def _hmac(self, request_id: str, code: str) -> str:
        return hmac.new(self._secret, f"code:{request_id}:{code}".encode(), hashlib.sha256).hexdigest()

    def issue(self, request: SigningRequest, sender: CodeSender, ip: str, ua: str, intent: str = "sign") -> None:
        """Send a fresh 6-digit code; ``code_sent`` is recorded only when the relay accepted it.

        Throttled to one accepted code a minute, 5 an hour, 10 a day. SendFailedError when the relay did not take
        it (the code is void and ``code_send_failed`` is recorded): the client may ask again right away.
        """
        now = self._now()
        with self.engine.connect() as conn:
            rows = conn.execute(select(signing_codes.c.sequence, signing_codes.c.issued_at, signing_codes.c.state)
                                .where(signing_codes.c.request_id == request.id)
                                .order_by(signing_codes.c.sequence.desc())).all()
        if any(r.state == SENDING and now - as_utc(r.issued_at) < IN_FLIGHT for r in rows):
            raise ThrottledError("um código está sendo enviado; aguarde alguns segundos", retry_after=5)
        _throttle([as_utc(r.issued_at) for r in rows if r.state == SENT], now)
        sequence = (rows[0].sequence if rows else 0) + 1
        code = f"{secrets.randbelow(1_000_000):06d}"
        try:
            with self.engine.begin() as conn:  # not usable yet: it expires the moment it is recorded
                result = conn.execute(signing_codes.insert().values(
                    request_id=request.id, sequence=sequence, code_hmac=self._hmac(request.id, code),
                    issued_at=now, expires_at=now, failures=0, state=SENDING,
                ).returning(signing_codes.c.id))
                code_id = result.scalar_one()
        except IntegrityError as exc:  # a concurrent click issued this sequence
            raise ThrottledError("um código acabou de ser enviado; aguarde 60 segundos",
                                 retry_after=int(RESEND_INTERVAL.total_seconds())) from exc
        info = self._info(request, ip, ua, f"código #{sequence} para {request.masked_destination}")
        try:
            sender.send_code(request, code, sequence, intent)
        except Exception as exc:  # refused, failed or too slow: the code is void, the client may ask again
            log.warning("request %s: code #%d not accepted by the relay: %s", request.id, sequence, exc)
            self._set_state(request, code_id, FAILED, "code_send_failed", info)
            raise SendFailedError("não foi possível enviar o código agora; tente novamente em instantes") from exc
        self._set_state(request, code_id, SENT, "code_sent", info, self._now())

    def _set_state(self, request: SigningRequest, code_id: int, state: str, action: str, info: EventInfo,
                   accepted: datetime | None = None) -> None:
        """The code's delivery state and its event, in one transaction."""
        values: dict[str, object] = {"state": state}
        if accepted is not None:
            values.update(issued_at=accepted, expires_at=accepted + CODE_TTL)
        with self.engine.begin() as conn:
            conn.execute(signing_codes.update().where(signing_codes.c.id == code_id,
                                                      signing_codes.c.state == SENDING).values(**values))
            self.ledger.log(request.document_id, action, info, conn=conn)

    def check(self, request: SigningRequest, code: str, ip: str, ua: str) -> None:
        """Confirm the newest accepted code: 5 wrong tries burn it, it expires 5 minutes after the relay took it,
        it works only once. The request becomes verified."""
        now = self._now()
        with self.engine.connect() as conn:
            row = conn.execute(select(signing_codes).where(signing_codes.c.request_id == request.id,
                                                           signing_codes.c.state == SENT)
                               .order_by(signing_codes.c.sequence.desc()).limit(1)).first()
        if row is None or row.used_at is not None:
            raise CodeError("solicite um novo código", reason="code_missing")
        if row.failures >= CODE_MAX_FAILURES:
            raise CodeError("muitas tentativas erradas; solicite um novo código", reason="code_burned")
        if now >= as_utc(row.expires_at):
            raise CodeError("o código expirou; solicite um novo código", reason="code_expired")
        candidate = code.strip()
        given = self._hmac(request.id, candidate) if re.fullmatch(r"\d{6}", candidate) else ""
        if not hmac.compare_digest(row.code_hmac.encode(), given.encode()):
            self._failed(request, row.id, ip, ua)
        with self.engine.begin() as conn:
            used = conn.execute(signing_codes.update()
                                .where(signing_codes.c.id == row.id, signing_codes.c.used_at.is_(None),
                                       signing_codes.c.failures < CODE_MAX_FAILURES)
                                .values(used_at=now))
            if used.rowcount != 1:
                raise CodeError("solicite um novo código", reason="code_missing")
            conn.execute(signing_requests.update().where(signing_requests.c.id == request.id)
                         .values(verified_at=now))
            self.ledger.log(request.document_id, "code_verified",
                            self._info(request, ip, ua, request.masked_destination), conn=conn)

    def _failed(self, request: SigningRequest, code_id: int, ip: str, ua: str) -> NoReturn:
        with self.engine.begin() as conn:
            result = conn.execute(signing_codes.update()
                                  .where(signing_codes.c.id == code_id, signing_codes.c.failures < CODE_MAX_FAILURES)
                                  .values(failures=signing_codes.c.failures + 1))
            failures = conn.execute(select(signing_codes.c.failures).where(signing_codes.c.id == code_id)).scalar_one()
            if result.rowcount == 1:  # the wrong try and its event commit together
                self.ledger.log(request.document_id, "code_failed",
                                self._info(request, ip, ua, f"tentativa {failures} de {CODE_MAX_FAILURES}"), conn=conn)
        if result.rowcount != 1:
            raise CodeError("muitas tentativas erradas; solicite um novo código", reason="code_burned")
        left = CODE_MAX_FAILURES - failures
        if left <= 0:
            raise CodeError("muitas tentativas erradas; solicite um novo código", reason="code_burned")
        raise CodeError(f"código incorreto; restam {left} tentativas", reason="code_invalid", tries_left=left)


def _throttle(issued: list[datetime], now: datetime) -> None:
    """Raise ThrottledError when another code now would break one of the resend limits (``issued``: newest first)."""
    waits: list[timedelta] = []
    if issued and now - issued[0] < RESEND_INTERVAL:
        waits.append(RESEND_INTERVAL - (now - issued[0]))
    for window, limit in ((timedelta(hours=1), MAX_CODES_PER_HOUR), (timedelta(days=1), MAX_CODES_PER_DAY)):
        recent = [t for t in issued if now - t < window]
        if len(recent) >= limit:
            waits.append(window - (now - recent[limit - 1]))
    if waits:
        seconds = max(1, int(max(waits).total_seconds() + 0.999))
        wait = f"{seconds} segundos" if seconds < 120 else f"{(seconds + 59) // 60} minutos"
        raise ThrottledError(f"aguarde {wait} para pedir um novo código", retry_after=seconds)
