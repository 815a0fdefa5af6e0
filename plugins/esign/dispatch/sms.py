"""SMS: the gateway protocol, the embedded file gateway, an HTTP provider, and the short texts.

A gateway raises :class:`DeliveryError` saying whether the message may be retried, may already have gone out
(``uncertain``: never retried automatically), or the whole channel is down.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

import httpx

from esign.dispatch.records import DeliveryError, OutboxEntry
from esign.dispatch.texts import DEFAULT_TZ, SEGMENT_GSM7, gsm7
from esign.errors import ConfigError, DispatchError
from esign.i18n import Translator, translator
from esign.settings import SmsGroup

#: One GSM-7 segment: every text is written to fit it (accents transliterated, the title shortened), so a
#: message is billed once and arrives whole on every phone.
SMS_MAX_CHARS = SEGMENT_GSM7
#: A company name longer than this is cut in an SMS (the link and the deadline always fit).
COMPANY_IN_SMS = 24


class SmsGateway(Protocol):
    """Hands one SMS to a provider; returns the provider's id for it."""

    def send(self, destination: str, text: str, message_id: str) -> str: ...


class GatewaySender:
    """The ``sms`` channel's sender: a stored outbox row handed to a gateway. ``owned``: the gateway was built for
    this delivery call and is closed at its end (an HTTP provider's connections)."""

    def __init__(self, gateway: SmsGateway, *, owned: bool = False) -> None:
        self.gateway = gateway
        self.owned = owned

    def send(self, entry: OutboxEntry) -> str:
        return self.gateway.send(entry.destination, entry.text, entry.message_id)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        close = getattr(self.gateway, "close", None)
        if self.owned and callable(close):
            close()


def gateway_for(sms: SmsGroup, workdir: Path, deadline: float | None = None) -> SmsGateway:
    """``ESIGN_SMS_URL`` + ``ESIGN_SMS_API_KEY`` (the typed ``settings.sms``) for an HTTP provider; else the
    embedded outbox file.

    With a ``deadline`` (a one-time code the client waits for) an HTTP provider gets a third of it per phase
    (connect, send, answer).
    """
    url, key = sms.url, sms.api_key
    if url:
        if not key:
            raise ConfigError("ESIGN_SMS_API_KEY: required when ESIGN_SMS_URL is set")
        return HttpSmsGateway(url, key) if deadline is None else HttpSmsGateway(url, key, timeout=deadline / 3)
    return FileSmsGateway(workdir / "sms" / "outbox.jsonl")


# -- texts ---------------------------------------------------------------------------------------------
def _cut(text: str, room: int) -> str:
    text = gsm7(" ".join(text.split()))
    if len(text) <= room:
        return text
    cut = text[: max(room - 3, 0)]
    space = cut.rfind(" ")
    if space >= room // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "..."


def fit_sms(template: str, title: str, limit: int = SMS_MAX_CHARS, **values: str) -> str:
    """``template`` (``%(title)s`` and other ``%(name)s`` placeholders) filled in GSM-7 within ``limit``: only the
    title is shortened; a company name is cut to ``COMPANY_IN_SMS``."""
    if "company" in values:
        values = {**values, "company": _cut(values["company"], COMPANY_IN_SMS)}
    return _fit(template, title, limit, **values)


def _fit(template: str, title: str, limit: int, **values: str) -> str:
    """Fill ``template`` in GSM-7, shortening only the title so the link and the rest always fit in ``limit``."""
    fixed = gsm7(template % {"title": "", **values})
    room = limit - len(fixed)
    if room < 8:
        raise DispatchError(f"SMS text does not fit in {limit} characters even without the title")
    return gsm7(template % {"title": _cut(title, room), **values})


def _t(t: Translator | None, tz_name: str) -> Translator:
    return t if t is not None else translator(None, tz_name)


def _day(value: datetime | date, reader: Translator) -> str:
    """The last day of a deadline in the reader's zone (an SMS has no room for the hour and its zone)."""
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ConfigError("expiry: a datetime without a time zone is ambiguous; pass UTC or a zone-aware value")
    return reader.format_date(value)


def sms_invite_text(
    *, company_name: str, document_title: str, link: str, expires_at: datetime | date,
    tz_name: str = DEFAULT_TZ, limit: int = SMS_MAX_CHARS, t: Translator | None = None,
) -> str:  # fmt: skip
    """Invitation: who asks, what, until which day (in the company's zone), and the link (never cut)."""
    reader = _t(t, tz_name)
    return _fit(
        reader.gettext("%(company)s: please sign \"%(title)s\" by %(expiry)s: %(link)s"),
        document_title, limit,
        company=_cut(company_name, COMPANY_IN_SMS), expiry=_day(expires_at, reader), link=link,
    )  # fmt: skip


def sms_reminder_text(
    *, company_name: str, document_title: str, link: str, expires_at: datetime | date,
    tz_name: str = DEFAULT_TZ, limit: int = SMS_MAX_CHARS, t: Translator | None = None,
) -> str:  # fmt: skip
    """Reminder for a document still waiting for the signer."""
    reader = _t(t, tz_name)
    return _fit(
        reader.gettext("%(company)s: reminder, please sign \"%(title)s\" by %(expiry)s: %(link)s"),
        document_title, limit,
        company=_cut(company_name, COMPANY_IN_SMS), expiry=_day(expires_at, reader), link=link,
    )  # fmt: skip


def sms_code_text(*, company_name: str, code: str, valid_minutes: int, intent: str = "sign",
                  t: Translator | None = None) -> str:
    """One-time code, naming what it confirms (signing or declining); says not to share it."""
    reader = _t(t, DEFAULT_TZ)
    template = (reader.gettext("%(company)s: your code to decline is %(code)s. Valid for %(minutes)s minutes. "
                               "Do not share it.") if intent == "decline" else
                reader.gettext("%(company)s: your code to sign is %(code)s. Valid for %(minutes)s minutes. "
                               "Do not share it."))
    return gsm7(template % {"company": _cut(company_name, COMPANY_IN_SMS), "code": code,
                            "minutes": str(valid_minutes)})


def sms_final_copy_text(*, company_name: str, document_title: str, link: str, limit: int = SMS_MAX_CHARS,
                        t: Translator | None = None) -> str:
    """The document is signed by all parties: the link where the client downloads the final copy."""
    reader = _t(t, DEFAULT_TZ)
    return _fit(reader.gettext("%(company)s: \"%(title)s\" is signed. Your copy: %(link)s"),
                document_title, limit, company=_cut(company_name, COMPANY_IN_SMS), link=link)


def sms_declined_notice_text(*, company_name: str, document_title: str, limit: int = SMS_MAX_CHARS,
                             t: Translator | None = None) -> str:
    """Another signer declined the document: nothing more is asked of this one."""
    reader = _t(t, DEFAULT_TZ)
    return _fit(reader.gettext("%(company)s: signing of \"%(title)s\" stopped (declined by another signer). "
                               "Nothing more is needed from you."),
                document_title, limit, company=_cut(company_name, COMPANY_IN_SMS))


# -- embedded gateway ------------------------------------------------------------------------------------
class FileSmsGateway:
    """The embedded default: appends one JSON line per SMS to a file and fsyncs it (the demo reads it back)."""

    def __init__(self, path: Path, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()

    def send(self, destination: str, text: str, message_id: str) -> str:
        provider_id = "file-" + hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:16]
        record = {
            "id": provider_id, "to": destination, "text": text, "reference": message_id,
            "at": self._clock().isoformat(),
        }  # fmt: skip
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                    os.fsync(fd)
                finally:
                    os.close(fd)
        except OSError as exc:
            raise DeliveryError(
                f"SMS file {self.path}: cannot append ({exc.strerror})", retryable=True, channel_down=True
            ) from exc
        return provider_id


def read_sms(path: Path) -> list[dict[str, Any]]:
    """The SMS written by :class:`FileSmsGateway`, oldest first (empty when none yet)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in lines if line.strip()]


# -- HTTP provider --------------------------------------------------------------------------------------
class HttpSmsGateway:
    """POSTs ``{"to", "text", "reference"}`` as JSON with a bearer token; one HTTP client per gateway.

    5xx/429 and connection failures are retryable. 401/403 mean the key is wrong: a ConfigError that stops the
    run instead of failing every message. Other 4xx are permanent for that message. A read timeout or a
    connection dropped after the request was sent is ``uncertain``: the provider may have accepted it (the
    ``reference``/``Idempotency-Key`` let a provider that supports it drop a later operator resend duplicate).
    """

    def __init__(
        self, url: str, api_key: str, timeout: float = 10.0, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"SMS gateway URL: must start with http:// or https:// (got {url!r})")
        if not api_key:
            raise ConfigError("SMS gateway API key: empty")
        self.url = url
        self._client = httpx.Client(
            timeout=timeout, transport=transport, headers={"Authorization": f"Bearer {api_key}"}
        )

    def send(self, destination: str, text: str, message_id: str) -> str:
        body = {"to": destination, "text": text, "reference": message_id}
        try:
            response = self._client.post(self.url, json=body, headers={"Idempotency-Key": message_id})
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise DeliveryError(f"SMS gateway unreachable: {exc!r}", retryable=True, channel_down=True) from exc
        except (httpx.WriteTimeout, httpx.WriteError) as exc:
            raise DeliveryError(f"SMS gateway: request not fully sent: {exc!r}", retryable=True) from exc
        except httpx.HTTPError as exc:  # read timeout, connection dropped while waiting for the answer
            raise DeliveryError(
                f"SMS gateway: no answer after the request was sent ({exc!r}); it may have been accepted",
                retryable=False, uncertain=True,
            ) from exc  # fmt: skip
        return self._outcome(response, message_id)

    @staticmethod
    def _outcome(response: httpx.Response, message_id: str) -> str:
        status = response.status_code
        if 200 <= status < 300:
            try:
                data = response.json()
            except ValueError:
                data = None
            if isinstance(data, dict):
                for key in ("id", "message_id", "sid"):
                    if data.get(key):
                        return str(data[key])
            return message_id
        detail = f"SMS gateway answered HTTP {status}: {response.text[:200].strip()}"
        if status in (401, 403):
            raise ConfigError(f"SMS gateway API key rejected (HTTP {status}); check the SMS connection")
        if status == 429 or status >= 500:
            raise DeliveryError(detail, retryable=True)
        raise DeliveryError(detail, retryable=False)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
