"""Typed errors, one family per area.

Domain code raises these; only the edges (CLI, portal, DAG tasks) turn them into messages and exit codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal


class EsignError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(EsignError):
    """A setting is missing or invalid; the message names the setting."""


class ValidationError(EsignError):
    """Input data cannot be used. Names the field and the reason so the record can be quarantined.

    ``reason`` is a message id (English, ``%(name)s`` placeholders filled from ``params``): ``str(error)`` is the
    English text for logs and JSON, :func:`esign.reasons.describe_error` the same in a reader's language.
    """

    def __init__(self, field: str, reason: str, params: Mapping[str, object] | None = None) -> None:
        self.field = field
        self.msgid = reason
        self.params: dict[str, object] = dict(params or {})
        self.reason = english(reason, self.params)
        super().__init__(f"{field}: {self.reason}")


def english(msgid: str, params: Mapping[str, object]) -> str:
    """A message id filled in for logs: money (a Decimal) with thousands separators, the rest as ``str``."""
    if not params:
        return msgid
    return msgid % {k: f"{v:,.0f}" if isinstance(v, Decimal) else str(v) for k, v in params.items()}


class RenderError(EsignError):
    """A template or an existing PDF cannot be turned into a document."""


class KeysError(EsignError):
    """Keys or certificates are missing, unreadable, locked with another passphrase or expired."""


class SigningError(EsignError):
    """A signature could not be applied."""


class SealUnavailableError(EsignError):
    """Something a final seal needs is unavailable for now (the timestamp authority, current revocation data):
    nothing was sealed, the document keeps its stage, and a later run seals it."""


class VerifyError(EsignError):
    """A file could not be examined at all (not a verdict: verdicts are results)."""


class StoreError(EsignError):
    """The ledger refused an operation (unknown document, illegal stage transition, ...)."""


class CrmError(EsignError):
    """The CRM could not be read or written."""


class CrmPausedError(CrmError):
    """The CRM paused one of its methods for us (its own per-method time budget) until ``until`` (Unix time).

    Nothing failed and nothing was applied: the work waits and is retried after ``until``.
    """

    until: float | None = None
    paused_method: str = ""
class CrmNotFoundError(CrmError):
    """The deal is gone from the CRM (deleted): a write-back to it can never succeed, so it is not owed."""


class DispatchError(EsignError):
    """A message could not be handed to the email or SMS channel."""


class PortalError(EsignError):
    """A signing link or code cannot be used (expired, used, unknown, too many tries)."""


class UnfinishedWorkError(EsignError):
    """A pipeline step did everything it could and work is still owed (the message says what); nothing was lost,
    the next run retries it. Raised after the step recorded what it did, so the task fails loudly (ops e-mail)."""
