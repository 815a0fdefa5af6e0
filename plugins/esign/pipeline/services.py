"""The services of one worker: CRM client, outbox, senders and signing requests for one workspace.

Built by the composition root (:func:`esign.composition.services_for`, once per process per settings and run
overrides) or by a test from a workspace it made. The typed ``ESIGN_*`` settings come with the workspace
(``ws.settings.variables``, read once by the root); nothing here reads the environment or knows about Airflow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from functools import cached_property

from esign.config import link_secret
from esign.crm.base import CrmClient
from esign.crm.registry import CrmContext, build_crm
from esign.dispatch.email import EmailTemplates, SmtpSettings
from esign.dispatch.outbox import Outbox
from esign.dispatch.registry import Sender, SenderContext, build_senders, channel_names
from esign.pipeline.config import PipelineConfig
from esign.requests.service import SigningRequests
from esign.settings import EsignSettings
from esign.workspace import Workspace


class Services:
    """Everything a pipeline step needs, built lazily and kept for the life of the worker.

    ``smtp``: the SMTP settings an edge read (Airflow's ``smtp_default`` Connection); None: ``ESIGN_SMTP_*``.
    ``crm_settings``: the CRM connector's settings as an edge read them (Bitrix24: from an Airflow Connection);
    None: the connector reads its group of the typed settings.
    """

    def __init__(self, ws: Workspace, config: PipelineConfig, smtp: SmtpSettings | None = None,
                 crm_settings: object | None = None) -> None:
        self.ws = ws
        self.config = config
        self.smtp = smtp if smtp is not None else SmtpSettings.from_group(self.settings.smtp)
        self.crm_settings = crm_settings
        self._resolve_stages()

    def __repr__(self) -> str:
        return f"Services(ws={self.ws.settings.workdir}, config={self.config!r})"

    @property
    def settings(self) -> EsignSettings:
        """The typed ``ESIGN_*`` settings (:mod:`esign.settings`) of the workspace, validated when they were read."""
        return self.ws.settings.variables

    def _resolve_stages(self) -> None:
        """Stage names in the settings become codes, before any step reads ``config.stages``."""
        from esign.crm.bitrix24.stages import looks_like_code, resolve_stage_map

        if not all(looks_like_code(code) for code in self.config.stages.as_dict().values()):
            stages = resolve_stage_map(self.config.stages, self.crm.list_stages())
            self.config = replace(self.config, stages=stages)

    @cached_property
    def crm(self) -> CrmClient:
        """The configured CRM's client, built by its registration (:mod:`esign.crm.registry`)."""
        return build_crm(self.config.crm, CrmContext(engine=self.ws.engine, settings=self.settings,
                                                     state_dir=self.ws.settings.workdir / "run",
                                                     crm_settings=self.crm_settings))

    @cached_property
    def outbox(self) -> Outbox:
        return Outbox(self.ws.engine)

    @cached_property
    def requests(self) -> SigningRequests:
        return SigningRequests(self.ws.engine, self.ws.ledger, link_secret(self.settings))

    @cached_property
    def email_templates(self) -> EmailTemplates:
        return EmailTemplates(self.ws.settings.templates_dir / "email")

    def senders(self, names: Iterable[str] | None = None, *, smtp: SmtpSettings | None = None,
                deadline: float | None = None) -> dict[str, Sender]:
        """The senders of these channels (default: every registered one) for one delivery call; e-mail opens its
        SMTP session on first use and closes it at the end of the call."""
        context = SenderContext(self.settings, smtp or self.smtp, self.ws.settings.workdir, deadline)
        return build_senders(channel_names() if names is None else names, context)
