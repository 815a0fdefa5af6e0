"""The registry's factory for Bitrix24 (:mod:`esign.crm.registry`): settings from the edge or the environment,
and one request budget per portal shared by every process of the machine."""

from __future__ import annotations

from esign.crm.bitrix24.budget import request_budget
from esign.crm.bitrix24.client import Bitrix24Crm
from esign.crm.bitrix24.settings import Bitrix24Settings
from esign.crm.registry import CrmContext


def connect(context: CrmContext) -> Bitrix24Crm:
    """A client for the portal of ``context.settings`` (an Airflow Connection's) or of ``ESIGN_BITRIX24_*``."""
    given = context.settings
    settings = given if isinstance(given, Bitrix24Settings) else Bitrix24Settings.from_env(context.environ)
    return Bitrix24Crm(settings, bucket=request_budget(settings, environ=context.environ, state_dir=context.state_dir))
