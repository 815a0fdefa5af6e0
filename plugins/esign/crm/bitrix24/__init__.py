"""The Bitrix24 CRM connector: :class:`Bitrix24Crm` over the REST API of an inbound webhook."""

from esign.crm.bitrix24.client import Bitrix24Crm
from esign.crm.bitrix24.errors import (
    Bitrix24AuthError,
    Bitrix24Error,
    Bitrix24MethodPausedError,
    Bitrix24MethodTimeLimitError,
    Bitrix24NotFoundError,
    Bitrix24PortalDeletedError,
    Bitrix24RateLimitError,
    Bitrix24ServerError,
    Bitrix24TransportError,
    Bitrix24UncertainWriteError,
)
from esign.crm.bitrix24.methodtime import MethodBreaker, MethodUsage
from esign.crm.bitrix24.ratelimit import LeakyBucket
from esign.crm.bitrix24.settings import Bitrix24Settings, WebhookUrl
from esign.crm.bitrix24.stages import resolve_stage, resolve_stage_map
from esign.crm.bitrix24.transport import BatchResult, Bitrix24Transport

__all__ = [
    "BatchResult",
    "Bitrix24AuthError",
    "Bitrix24Crm",
    "Bitrix24Error",
    "Bitrix24MethodPausedError",
    "Bitrix24MethodTimeLimitError",
    "Bitrix24NotFoundError",
    "Bitrix24PortalDeletedError",
    "Bitrix24RateLimitError",
    "Bitrix24ServerError",
    "Bitrix24Settings",
    "Bitrix24Transport",
    "Bitrix24TransportError",
    "Bitrix24UncertainWriteError",
    "LeakyBucket",
    "MethodBreaker",
    "MethodUsage",
    "WebhookUrl",
    "resolve_stage",
    "resolve_stage_map",
]
