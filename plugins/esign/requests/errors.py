"""Why a signing link or code cannot be used, as ``PortalError`` subclasses with a stable ``reason`` code.

The portal maps ``reason`` to an HTTP status and a friendly page; the domain never thinks in HTTP.
"""

from __future__ import annotations

from esign.errors import PortalError


class RequestError(PortalError):
    """Base: ``reason`` is a short machine code (``unknown``, ``expired``, ``code_invalid``, ...)."""

    reason = "error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class UnknownLinkError(RequestError):
    """No request has this token (never issued, mistyped or tampered with)."""

    reason = "unknown"


class LinkExpiredError(RequestError):
    reason = "expired"


class AlreadySignedError(RequestError):
    reason = "signed"


class DeclinedError(RequestError):
    reason = "declined"


class CanceledError(RequestError):
    reason = "canceled"


class NotReadyError(RequestError):
    """The document is not yet (or no longer) in a stage where the client may act."""

    reason = "not_ready"


class CodeError(RequestError):
    """A one-time code problem: ``code_invalid``, ``code_expired``, ``code_burned``, ``code_missing``."""

    reason = "code_invalid"

    def __init__(self, message: str, *, reason: str = "code_invalid", tries_left: int = 0) -> None:
        super().__init__(message, reason=reason)
        self.tries_left = tries_left


class ThrottledError(RequestError):
    """Too many codes asked for; ``retry_after`` seconds until the next one may be sent."""

    reason = "throttled"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotVerifiedError(RequestError):
    """Signing or declining needs a code confirmed in the last 15 minutes."""

    reason = "not_verified"


class InvalidInputError(RequestError):
    """A field sent by the client is unusable; ``field`` names it."""

    reason = "invalid_input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class SendFailedError(RequestError):
    """The code could not be handed to the email/SMS channel."""

    reason = "send_failed"
