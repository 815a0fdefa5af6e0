"""The composition root of a worker: CRM client, outbox, senders and signing requests for one workspace.

Built once per process per settings (like :class:`~esign.workspace.Workspace`). The Airflow edge and the CLI
fill the environment (or pass explicit SMTP settings) and call in; nothing here knows about Airflow.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from esign.config import link_secret
from esign.crm.base import CrmClient
from esign.dispatch.email import EmailTemplates, SmtpSender, SmtpSettings
from esign.dispatch.outbox import Outbox
from esign.dispatch.sms import FileSmsGateway, HttpSmsGateway, SmsGateway
from esign.errors import ConfigError
from esign.pipeline.config import PipelineConfig, load_pipeline_config
from esign.portal.services import PortalServices, PortalSettings
from esign.requests.service import SigningRequests
from esign.workspace import Workspace, workspace_for

if TYPE_CHECKING:
    from esign.crm.bitrix24.settings import Bitrix24Settings


@dataclass
class Services:
    """Everything a pipeline step needs, built lazily and kept for the life of the worker."""

    ws: Workspace
    config: PipelineConfig
    smtp: SmtpSettings = field(default_factory=SmtpSettings.from_env)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    bitrix24: Bitrix24Settings | None = None  # from an Airflow Connection; None: ESIGN_BITRIX24_* variables

    def __post_init__(self) -> None:
        """Stage names in the settings become codes now, before any step reads ``config.stages``."""
        from esign.crm.bitrix24.stages import looks_like_code, resolve_stage_map

        if not all(looks_like_code(code) for code in self.config.stages.as_dict().values()):
            stages = resolve_stage_map(self.config.stages, self.crm.list_stages())
            self.config = replace(self.config, stages=stages)

    @cached_property
    def crm(self) -> CrmClient:
        if self.config.crm == "local":
            from esign.crm.local import LocalCrm

            return LocalCrm(self.ws.engine)
        if self.config.crm == "bitrix24":
            from esign.crm.bitrix24 import Bitrix24Crm, Bitrix24Settings
            from esign.crm.bitrix24.budget import request_budget
            from esign.crm.method_pauses import MethodPauseStore

            settings = self.bitrix24 or Bitrix24Settings.from_env(self.environ)
            budget = request_budget(settings, environ=self.environ, state_dir=self.ws.settings.workdir / "run")
            crm = Bitrix24Crm(settings, bucket=budget)  # one request budget per portal, across processes
            # a method paused by the portal's time limit shows in `esign status`, whichever worker met it
            crm.transport.breaker.on_pause = MethodPauseStore(self.ws.engine).recorder(crm.transport.webhook.host)
            return crm
        raise ConfigError(f"pipeline crm: {self.config.crm!r} has no connector in this version")

    @cached_property
    def outbox(self) -> Outbox:
        return Outbox(self.ws.engine)

    @cached_property
    def requests(self) -> SigningRequests:
        return SigningRequests(self.ws.engine, self.ws.ledger, link_secret(self.environ))

    @cached_property
    def email_templates(self) -> EmailTemplates:
        return EmailTemplates(self.ws.settings.templates_dir / "email")

    def email_sender(self) -> SmtpSender:
        """A sender for one batch: one SMTP session, opened on first use and closed at the end."""
        return SmtpSender(self.smtp)

    @cached_property
    def sms_gateway(self) -> SmsGateway:
        """``ESIGN_SMS_URL`` + ``ESIGN_SMS_API_KEY`` for an HTTP provider; else the embedded outbox file."""
        url = self.environ.get("ESIGN_SMS_URL", "")
        if url:
            key = self.environ.get("ESIGN_SMS_API_KEY", "")
            if not key:
                raise ConfigError("ESIGN_SMS_API_KEY: required when ESIGN_SMS_URL is set")
            return HttpSmsGateway(url, key)
        return FileSmsGateway(self.ws.settings.workdir / "sms" / "outbox.jsonl")


_cache: dict[tuple[Any, ...], Services] = {}


def services_for(overrides: Mapping[str, Any] | None = None, ws: Workspace | None = None,
                 smtp: SmtpSettings | None = None, bitrix24: Bitrix24Settings | None = None) -> Services:
    """The worker's services for these settings and run overrides (cached per process)."""
    ws = ws or workspace_for()
    config = load_pipeline_config(ws.settings.pipeline_file, overrides)
    smtp = smtp or SmtpSettings.from_env()
    key = (id(ws), repr(config), repr(smtp), bitrix24)
    services = _cache.get(key)
    if services is None:
        services = _cache[key] = Services(ws=ws, config=config, smtp=smtp, bitrix24=bitrix24)
    return services


def reset_services() -> None:
    _cache.clear()


def portal_services(services: Services, *, code_posts_per_minute: int | None = None,
                    uploads_per_minute: int | None = None) -> PortalServices:
    """What the clients' portal needs, wired to this worker's ledger, requests and outbox.

    The per-IP limits default to PortalSettings'; the demo raises them because all its simulated clients share
    127.0.0.1 (the per-link limits on codes still apply).
    """
    from dataclasses import replace

    from esign.pipeline.messages import OutboxCodeSender
    from esign.portal.security import trusted_proxies
    from esign.verify import verify_untrusted

    ws = services.ws
    settings = replace(PortalSettings.from_settings(ws.settings, company=ws.company),
                       trusted_proxies=trusted_proxies(services.environ))
    if code_posts_per_minute is not None:
        settings = replace(settings, code_posts_per_minute=code_posts_per_minute)
    if uploads_per_minute is not None:
        settings = replace(settings, uploads_per_minute=uploads_per_minute)
    return PortalServices(
        ledger=ws.ledger, requests=services.requests, sender=OutboxCodeSender(services),
        settings=settings, verify=verify_untrusted, trust_roots=tuple(ws.trust_roots),
    )
