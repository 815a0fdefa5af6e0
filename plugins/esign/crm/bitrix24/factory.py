"""The registry's factory for Bitrix24 (:mod:`esign.crm.registry`): settings from the edge or ``ESIGN_BITRIX24_*``,
and one request budget per portal shared by every process of the machine; a method the portal pauses is recorded in
the ledger, so `esign status` shows it whichever worker met it."""

from __future__ import annotations

from esign.crm.bitrix24.budget import request_budget
from esign.crm.bitrix24.client import Bitrix24Crm
from esign.crm.bitrix24.settings import Bitrix24Settings
from esign.crm.registry import CrmContext


def connect(context: CrmContext) -> Bitrix24Crm:
    """A client for the portal of ``context.crm_settings`` (an Airflow Connection's) or of ``ESIGN_BITRIX24_*``."""
    given = context.crm_settings
    settings = given if isinstance(given, Bitrix24Settings) else Bitrix24Settings.from_group(context.settings.bitrix24)
    crm = Bitrix24Crm(settings, bucket=request_budget(settings, redis_url=context.settings.redis_url,
                                                      state_dir=context.state_dir))
    if context.engine is not None:
        from esign.crm.method_pauses import MethodPauseStore

        crm.transport.breaker.on_pause = MethodPauseStore(context.engine).recorder(crm.transport.webhook.host)
    return crm
