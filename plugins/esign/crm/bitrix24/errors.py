"""Bitrix24 REST errors as :class:`~esign.errors.CrmError` subclasses, and which of them are worth a retry.

Why classify here: Bitrix24 reports one condition in several shapes (an empty code with HTTP 400 "Not found"
for legacy ``crm.*``, ``NOT_FOUND`` for ``crm.item.*``, ``ERROR_NOT_FOUND`` for some core methods; the rate
limit as 503 or 429). Callers catch one type per condition and never parse codes themselves.

The request-rate limit (QUERY_LIMIT_EXCEEDED, per portal) and the method time limit (OPERATION_TIME_LIMIT,
HTTP 429, per method for a 10-minute window) are different conditions with different cures: the first wants a
short backoff, the second a pause of that one method until ``operating_reset_at``.
"""

from __future__ import annotations

from esign.errors import CrmError, CrmNotFoundError, CrmPausedError

AUTH_CODES = frozenset({"NO_AUTH_FOUND", "EXPIRED_TOKEN", "INVALID_TOKEN", "INVALID_CREDENTIALS",
                        "INSUFFICIENT_SCOPE", "ACCESS_DENIED", "WRONG_AUTH_TYPE", "PAYMENT_REQUIRED"})
NOT_FOUND_CODES = frozenset({"NOT_FOUND", "ERROR_NOT_FOUND", "OWNER_NOT_FOUND"})
RATE_LIMIT_CODES = frozenset({"QUERY_LIMIT_EXCEEDED"})
TIME_LIMIT_CODE = "OPERATION_TIME_LIMIT"
PORTAL_DELETED_CODE = "PORTAL_DELETED"
SERVER_CODES = frozenset({"INTERNAL_SERVER_ERROR", "ERROR_UNEXPECTED_ANSWER"})


class Bitrix24Error(CrmError):
    """A Bitrix24 REST call failed; ``code`` and ``status`` as the portal sent them (code may be empty)."""

    def __init__(self, message: str, *, method: str = "", code: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.method = method
        self.code = code
        self.status = status


class Bitrix24AuthError(Bitrix24Error):
    """Wrong or expired webhook, missing scope, or a user without rights: retrying cannot help."""


class Bitrix24NotFoundError(Bitrix24Error):
    """The record (or method) does not exist, in any of the portal's three shapes."""


class Bitrix24DealNotFoundError(Bitrix24NotFoundError, CrmNotFoundError):
    """A write-back's deal does not exist (deleted): ``crm.deal.update`` "Not found", ``crm.timeline.comment.add``
    OWNER_NOT_FOUND. The pipeline ends that write-back instead of owing it forever."""


class Bitrix24RateLimitError(Bitrix24Error):
    """Still over the portal's request rate (QUERY_LIMIT_EXCEEDED) after every retry."""


class Bitrix24MethodTimeLimitError(Bitrix24Error):
    """OPERATION_TIME_LIMIT: this method used up its execution time for the window; ``reset_at`` (Unix time)
    is when the portal said the oldest minute drops out, when it said so."""

    reset_at: float | None = None


class Bitrix24MethodPausedError(Bitrix24MethodTimeLimitError, CrmPausedError):
    """The method is paused for longer than the client may wait: the caller retries after ``until``."""


class Bitrix24PortalDeletedError(Bitrix24Error):
    """PORTAL_DELETED (HTTP 500): the portal is gone or its public part is closed. Fatal, never retried."""


class Bitrix24ServerError(Bitrix24Error):
    """The portal failed (HTTP 5xx) after every retry."""


class Bitrix24TransportError(Bitrix24Error):
    """The portal could not be reached or answered something that is not the REST protocol."""


class Bitrix24UncertainWriteError(Bitrix24TransportError):
    """A write may or may not have been applied (the answer was lost); not retried blindly to avoid doubles."""


def classify(method: str, status: int | None, code: str, description: str) -> Bitrix24Error:
    """The error type for one REST error answer (HTTP status may be None inside a ``batch``)."""
    upper = code.upper()
    shown = f"{code}: {description}" if code and description else (code or description or f"HTTP {status}")
    text = f"Bitrix24 {method}: {shown}"
    lowered = description.strip().lower()
    kind: type[Bitrix24Error] = Bitrix24Error
    if upper in AUTH_CODES or status in (401, 403) or (not code and "access denied" in lowered):
        kind, text = Bitrix24AuthError, text + _AUTH_HINT.get(upper, "")
    elif upper in NOT_FOUND_CODES or (not code and "not found" in lowered):
        kind = Bitrix24NotFoundError
    elif upper in RATE_LIMIT_CODES:
        kind = Bitrix24RateLimitError
    elif upper == TIME_LIMIT_CODE:
        kind = Bitrix24MethodTimeLimitError
    elif upper == PORTAL_DELETED_CODE:
        kind, text = Bitrix24PortalDeletedError, text + " (the portal was deleted or closed: check the webhook URL)"
    elif upper in SERVER_CODES or (status is not None and status >= 500):
        kind = Bitrix24ServerError
    return kind(text, method=method, code=code, status=status)


def is_retryable(error: Bitrix24Error) -> bool:
    """Rate limits and server failures pass; OVERLOAD_LIMIT (blocked by support) and PORTAL_DELETED do not.
    The method time limit is retried too, but after a pause, not a backoff (see the transport)."""
    if error.code.upper() == "OVERLOAD_LIMIT":
        return False
    return isinstance(error, Bitrix24RateLimitError | Bitrix24ServerError | Bitrix24MethodTimeLimitError)


_AUTH_HINT = {
    "NO_AUTH_FOUND": " (check the webhook URL: user ID and code)",
    "EXPIRED_TOKEN": " (the access token expired)",
    "INVALID_CREDENTIALS": " (the webhook's user lacks rights for this method)",
    "INSUFFICIENT_SCOPE": " (add the 'crm' and 'user' scopes to the webhook)",
    "ACCESS_DENIED": " (the portal's plan or the user's rights forbid REST access)",
}
