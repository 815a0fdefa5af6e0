"""One webhook, one HTTP client: JSON POSTs with pacing, retries, the renamed-portal redirect and ``batch``.

Why retries differ for writes: a read can always be repeated, but a timeline comment whose answer was lost
may already exist, so a write is only retried when the portal refused it before running it (rate limit,
method time limit, connection never made); otherwise :class:`Bitrix24UncertainWriteError` says so and the
caller decides. Every answer's ``time`` feeds the per-method breaker (:mod:`.methodtime`): a method refused
with OPERATION_TIME_LIMIT is paused until its reset, and every call or batch using it waits for that first.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx

from esign.crm.bitrix24.errors import (
    Bitrix24Error,
    Bitrix24MethodTimeLimitError,
    Bitrix24RateLimitError,
    Bitrix24TransportError,
    Bitrix24UncertainWriteError,
    classify,
    is_retryable,
)
from esign.crm.bitrix24.methodtime import MethodBreaker, reset_at_of
from esign.crm.bitrix24.ratelimit import LeakyBucket, RequestBudget, Sleep, backoff_delay
from esign.crm.bitrix24.settings import Bitrix24Settings, WebhookUrl

log = logging.getLogger(__name__)

MAX_BATCH = 50  # commands per batch (more: ERROR_BATCH_LENGTH_EXCEEDED)
_REDIRECTS = (301, 302, 303, 307, 308)
_MAX_HOPS = 3


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Per-command outcome of one ``batch``: each name is in ``results`` or in ``errors``."""

    results: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, Bitrix24Error] = field(default_factory=dict)
    totals: dict[str, Any] = field(default_factory=dict)


class _Redact(logging.Filter):
    """Hides webhook codes in the HTTP library's own log lines (httpx logs every URL at INFO)."""

    secrets: set[str] = set()  # noqa: RUF012 - shared on purpose: one filter instance per logger

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            for secret in self.secrets:
                message = message.replace(secret, "***")
            record.msg, record.args = message, None
        return True


_redact = _Redact()
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).addFilter(_redact)


class Bitrix24Transport:
    """Thread-safe. ``http`` and ``sleep`` are injectable for tests; the bucket paces every HTTP request."""

    def __init__(self, settings: Bitrix24Settings, *, http: httpx.Client | None = None,
                 bucket: RequestBudget | None = None, sleep: Sleep | None = None,
                 breaker: MethodBreaker | None = None) -> None:
        import time

        self.settings = settings
        self._webhook = settings.webhook
        self._sleep: Sleep = sleep or time.sleep
        self.bucket: RequestBudget = bucket or LeakyBucket(settings.burst, settings.rate, sleep=self._sleep)
        self.breaker = breaker or MethodBreaker(sleep=self._sleep, max_wait=settings.method_wait_max)
        self._http = http or httpx.Client(timeout=settings.timeout, follow_redirects=False,
                                          headers={"User-Agent": "esign-pipeline"})
        self._lock = threading.Lock()
        self.requests = 0  # HTTP requests sent, redirects and retries included
        _Redact.secrets.add(settings.webhook.code)

    @property
    def webhook(self) -> WebhookUrl:
        return self._webhook

    def __repr__(self) -> str:
        return f"Bitrix24Transport({self._webhook.masked()!r})"

    def close(self) -> None:
        self._http.close()

    # -- calls -------------------------------------------------------------------------------------
    def call(self, method: str, params: Mapping[str, Any] | None = None, *, idempotent: bool = True) -> Any:
        """The ``result`` of one method; raises a :class:`Bitrix24Error` subclass after bounded retries."""
        return self.call_full(method, params, idempotent=idempotent)["result"]

    def call_full(self, method: str, params: Mapping[str, Any] | None = None, *,
                  idempotent: bool = True, guards: Sequence[str] | None = None) -> dict[str, Any]:
        """The whole answer (``result``, ``total``, ``next``, ``time``). ``guards``: the methods whose pause
        must be waited out before sending (default: ``method`` itself; for ``batch``, its commands')."""
        body = json.dumps(dict(params or {}), default=_json_default, ensure_ascii=False).encode()
        attempts = self.settings.max_attempts
        for attempt in range(1, attempts + 1):
            self.breaker.wait([method] if guards is None else guards)
            self.bucket.acquire()
            try:
                status, data = self._post(method, body)
            except httpx.TransportError as exc:
                reason = self._webhook.mask(f"{type(exc).__name__}: {exc}")
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if not idempotent and not never_sent:
                    raise Bitrix24UncertainWriteError(
                        f"Bitrix24 {method}: the answer was lost ({reason}); the change may or may not "
                        "have been applied, so it is not repeated automatically", method=method) from None
                error: Bitrix24Error = Bitrix24TransportError(
                    f"Bitrix24 {method}: cannot reach {self._webhook.host} ({reason})", method=method)
            else:
                if isinstance(data, dict) and "error" not in data and "result" in data and status < 400:
                    self.breaker.observe(method, data.get("time"))
                    return data
                error = _error_from(method, status, data)
                if isinstance(error, Bitrix24MethodTimeLimitError):  # refused before running: pause, not backoff
                    self.breaker.trip(method, error.reset_at)
                    if attempt == attempts:
                        error.args = (f"{error.args[0]} (gave up after {attempts} attempts)",)
                        raise error
                    continue
                if not is_retryable(error):
                    raise error
                if isinstance(error, Bitrix24RateLimitError):
                    self.bucket.fill()
                elif not idempotent:
                    raise Bitrix24UncertainWriteError(
                        f"{error} — the change may or may not have been applied, so it is not repeated "
                        "automatically", method=method, code=error.code, status=error.status) from None
            if attempt == attempts:
                error.args = (f"{error.args[0]} (gave up after {attempts} attempts)",)
                raise error
            delay = backoff_delay(attempt, self.settings.backoff_base, self.settings.backoff_cap)
            log.warning("%s; retry %d/%d in %.1f s", error, attempt, attempts - 1, delay)
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def batch(self, commands: Mapping[str, str], *, idempotent: bool = True) -> BatchResult:
        """Run up to 50 commands in one request (``halt=0``); errors are reported per command. A batch of
        writes that must not be repeated blindly (comments) passes ``idempotent=False``, like ``call``."""
        if not commands:
            return BatchResult()
        if len(commands) > MAX_BATCH:
            raise ValueError(f"a batch holds at most {MAX_BATCH} commands, got {len(commands)}")
        methods = {name: method_of(cmd) for name, cmd in commands.items()}
        outer = self.call_full("batch", {"halt": 0, "cmd": dict(commands)}, idempotent=idempotent,
                               guards=sorted(set(methods.values())))["result"]
        sections = outer if isinstance(outer, dict) else {}
        results = _section(sections.get("result"))
        times = _section(sections.get("result_time"))
        for name, timing in times.items():  # each command counts toward its own method's budget
            self.breaker.observe(methods.get(name, "?"), timing)
        errors = {name: _error_from(f"batch {name} ({methods.get(name, '?')})", None, value)
                  for name, value in _section(sections.get("result_error")).items()}
        for name, error in errors.items():
            if isinstance(error, Bitrix24MethodTimeLimitError):
                error.reset_at = error.reset_at or reset_at_of(times.get(name))
                self.breaker.trip(methods.get(name, "?"), error.reset_at)
        return BatchResult(results={k: v for k, v in results.items() if k not in errors}, errors=errors,
                           totals=_section(sections.get("result_total")))

    # -- HTTP --------------------------------------------------------------------------------------
    def _post(self, method: str, body: bytes) -> tuple[int, Any]:
        """POST, following a renamed portal's redirect (the new host is remembered)."""
        for _hop in range(_MAX_HOPS + 1):
            webhook = self._webhook
            self.requests += 1
            response = self._http.post(webhook.method_url(method), content=body,
                                       headers={"Content-Type": "application/json"})
            if response.status_code in _REDIRECTS and response.headers.get("location"):
                self._follow(webhook, response.headers["location"])
                continue
            try:
                data = json.loads(response.content, parse_float=Decimal) if response.content else None
            except ValueError:
                data = None
            return response.status_code, data
        raise Bitrix24TransportError(f"Bitrix24 {method}: too many redirects from {self._webhook.host}",
                                     method=method)

    def _follow(self, old: WebhookUrl, location: str) -> None:
        target = urlsplit(location)
        if not target.netloc:
            raise Bitrix24TransportError(f"Bitrix24: redirect without a host from {old.masked()}")
        if old.scheme == "https" and target.scheme != "https":
            raise Bitrix24TransportError(f"Bitrix24: refusing a redirect from https to {target.scheme}")
        new = WebhookUrl(target.scheme or old.scheme, target.netloc, old.user_id, old.code)
        with self._lock:
            if self._webhook == old:
                self._webhook = new
        log.warning("Bitrix24 portal moved: %s -> %s (update the webhook URL)", old.masked(), new.masked())


def _section(value: Any) -> dict[str, Any]:
    """Batch sections are objects, or ``[]`` when empty (PHP's empty array)."""
    return dict(value) if isinstance(value, dict) else {}


def method_of(command: str) -> str:
    """The method of one ``batch`` command string (``"crm.deal.get?id=1"`` -> ``"crm.deal.get"``)."""
    return command.split("?", 1)[0]


def _error_from(method: str, status: int | None, data: Any) -> Bitrix24Error:
    if isinstance(data, dict) and "error" in data:
        error = classify(method, status, str(data.get("error") or ""), str(data.get("error_description") or ""))
        if isinstance(error, Bitrix24MethodTimeLimitError):
            error.reset_at = reset_at_of(data.get("time"))
        return error
    if status == 429:  # a proxy's bare "too many requests": no REST code, so neither of the portal's limits
        return Bitrix24RateLimitError(f"Bitrix24 {method}: HTTP 429 without a REST error (a proxy's rate limit)",
                                      method=method, status=status)
    if status is not None and (status >= 500 or status in (401, 403)):
        return classify(method, status, "", f"HTTP {status}")
    return Bitrix24TransportError(f"Bitrix24 {method}: unexpected answer (HTTP {status}, not the REST protocol)",
                                  method=method, status=status)


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot send {type(value).__name__} to Bitrix24")
