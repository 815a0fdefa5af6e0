"""The composition root of a worker: CRM client, outbox, senders and signing requests for one workspace.

Built once per process per settings (like :class:`~esign.workspace.Workspace`). The Airflow edge and the CLI
fill the environment (or pass explicit SMTP settings) and call in; nothing here knows about Airflow.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from esign.config import link_secret
from esign.crm.base import CrmClient
from esign.crm.registry import CrmContext, build_crm
from esign.dispatch.email import EmailTemplates, SmtpSettings
from esign.dispatch.outbox import Outbox
from esign.dispatch.registry import Sender, SenderContext, build_senders, channel_names
from esign.pipeline.config import PipelineConfig, load_pipeline_config
from esign.requests.service import SigningRequests
from esign.settings import EsignSettings, load_settings
from esign.workspace import Workspace, workspace_for


@dataclass
class Services:
    """Everything a pipeline step needs, built lazily and kept for the life of the worker."""

    ws: Workspace
    config: PipelineConfig
    smtp: SmtpSettings = field(default_factory=SmtpSettings.from_env)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    #: The CRM connector's settings as an edge read them (Bitrix24: from an Airflow Connection); None: the
    #: connector reads its own ``ESIGN_*`` variables.
    crm_settings: object | None = None
    #: The typed ``ESIGN_*`` settings of ``environ`` (:mod:`esign.settings`), validated when the services are built.
    settings: EsignSettings = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Every ``ESIGN_*`` problem is reported now, all in one error, before anything is built; then stage names
        in the settings become codes, before any step reads ``config.stages``."""
        from esign.crm.bitrix24.stages import looks_like_code, resolve_stage_map

        self.settings = load_settings(self.environ)

        if not all(looks_like_code(code) for code in self.config.stages.as_dict().values()):
            stages = resolve_stage_map(self.config.stages, self.crm.list_stages())
            self.config = replace(self.config, stages=stages)

    @cached_property
    def crm(self) -> CrmClient:
        """The configured CRM's client, built by its registration (:mod:`esign.crm.registry`)."""
        return build_crm(self.config.crm, CrmContext(engine=self.ws.engine, environ=self.environ,
                                                     state_dir=self.ws.settings.workdir / "run",
                                                     settings=self.crm_settings))

    @cached_property
    def outbox(self) -> Outbox:
        return Outbox(self.ws.engine)

    @cached_property
    def requests(self) -> SigningRequests:
        return SigningRequests(self.ws.engine, self.ws.ledger, link_secret(self.environ))

    @cached_property
    def email_templates(self) -> EmailTemplates:
        return EmailTemplates(self.ws.settings.templates_dir / "email")

    def senders(self, names: Iterable[str] | None = None, *, smtp: SmtpSettings | None = None,
                deadline: float | None = None) -> dict[str, Sender]:
        """The senders of these channels (default: every registered one) for one delivery call; e-mail opens its
        SMTP session on first use and closes it at the end of the call."""
        context = SenderContext(self.environ, smtp or self.smtp, self.ws.settings.workdir, deadline)
        return build_senders(channel_names() if names is None else names, context)


_cache: dict[tuple[Any, ...], Services] = {}


def services_for(overrides: Mapping[str, Any] | None = None, ws: Workspace | None = None,
                 smtp: SmtpSettings | None = None, crm_settings: object | None = None) -> Services:
    """The worker's services for these settings and run overrides (cached per process)."""
    ws = ws or workspace_for()
    config = load_pipeline_config(ws.settings.pipeline_file, overrides)
    smtp = smtp or SmtpSettings.from_env()
    key = (id(ws), repr(config), repr(smtp), crm_settings)
    services = _cache.get(key)
    if services is None:
        services = _cache[key] = Services(ws=ws, config=config, smtp=smtp, crm_settings=crm_settings)
    return services


def reset_services() -> None:
    _cache.clear()
