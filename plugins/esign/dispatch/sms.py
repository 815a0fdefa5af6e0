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

from esign.dispatch.records import DeliveryError
from esign.dispatch.texts import DEFAULT_TZ, format_expiry, truncate
from esign.errors import ConfigError, DispatchError

#: Longer texts are split by operators into several billed parts; stay within a few.
SMS_MAX_CHARS = 300


class SmsGateway(Protocol):
    """Hands one SMS to a provider; returns the provider's id for it."""

    def send(self, destination: str, text: str, message_id: str) -> str: ...


# -- texts ---------------------------------------------------------------------------------------------
def _fit(template: str, title: str, limit: int, **values: str) -> str:
    """Fill ``template``, shortening only the title so the link and the rest always fit."""
    fixed = template.format(title="", **values)
    room = limit - len(fixed)
    if room < 8:
        raise DispatchError(f"SMS text does not fit in {limit} characters even without the title")
    return template.format(title=truncate(title, room), **values)


def sms_invite_text(
    *, company_name: str, document_title: str, link: str, expires_at: datetime | date,
    tz_name: str = DEFAULT_TZ, limit: int = SMS_MAX_CHARS,
) -> str:  # fmt: skip
    """Invitation: who asks, what, until when, and the link (never cut)."""
    return _fit(
        "{company}: assine o documento \"{title}\" até {expiry}. Acesse: {link}",
        document_title, limit,
        company=truncate(company_name, 40), expiry=format_expiry(expires_at, tz_name), link=link,
    )  # fmt: skip


def sms_reminder_text(
    *, company_name: str, document_title: str, link: str, expires_at: datetime | date,
    tz_name: str = DEFAULT_TZ, limit: int = SMS_MAX_CHARS,
) -> str:  # fmt: skip
    """Reminder for a document still waiting for the signer."""
    return _fit(
        "{company}: lembrete - o documento \"{title}\" aguarda sua assinatura até {expiry}. Acesse: {link}",
        document_title, limit,
        company=truncate(company_name, 40), expiry=format_expiry(expires_at, tz_name), link=link,
    )  # fmt: skip


def sms_code_text(*, company_name: str, code: str, valid_minutes: int) -> str:
    """One-time code; says not to share it."""
    return (
        f"{truncate(company_name, 40)}: seu código para assinar é {code}. "
        f"Válido por {valid_minutes} minutos. Não o compartilhe com ninguém."
    )


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
