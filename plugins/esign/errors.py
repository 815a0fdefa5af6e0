"""Typed errors, one family per area.

Domain code raises these; only the edges (CLI, portal, DAG tasks) turn them into messages and exit codes.
"""

from __future__ import annotations


class EsignError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(EsignError):
    """A setting is missing or invalid; the message names the setting."""


class ValidationError(EsignError):
    """Input data cannot be used. Names the field and the reason so the record can be quarantined."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


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


class CrmNotFoundError(CrmError):
    """The deal is gone from the CRM (deleted): a write-back to it can never succeed, so it is not owed."""


class DispatchError(EsignError):
    """A message could not be handed to the email or SMS channel."""


class PortalError(EsignError):
    """A signing link or code cannot be used (expired, used, unknown, too many tries)."""


class UnfinishedWorkError(EsignError):
    """A pipeline step did everything it could and work is still owed (the message says what); nothing was lost,
    the next run retries it. Raised after the step recorded what it did, so the task fails loudly (ops e-mail)."""
