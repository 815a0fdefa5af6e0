"""Build :class:`~esign.pipeline.services.Services` from Airflow's Connections, Variables and DAG params.

The Airflow edge reads these and hands them to the composition root (:mod:`esign.composition`), which reads the
``ESIGN_*`` settings once and builds the rest.

- ``smtp_default`` (Connection): the SMTP relay; extras ``from_email``, ``timeout``, ``disable_tls``,
  ``disable_ssl`` as in Airflow's SMTP provider. Without the Connection, ``ESIGN_SMTP_*`` variables apply.
- ``bitrix24_default`` (Connection of type ``bitrix24``, read by :class:`~esign.hooks.bitrix24.Bitrix24Hook`): the
  Bitrix24 inbound webhook. Without the Connection, ``ESIGN_BITRIX24_WEBHOOK`` applies.
- ``esign_tsa`` (Connection): the RFC 3161 time-stamping authority of final seals, as extra ``url`` or a host that
  is a URL (or schema + host + port); login/password for HTTP basic authentication. Without the Connection,
  ``ESIGN_TSA_URL`` applies (and without that, the demo authority in the keys folder).
- ``esign_pipeline`` (Variable, JSON): overrides of ``config/pipeline.yaml`` for every run.
- DAG params: overrides for one run; ``null`` keeps the configured value.

Only a missing Connection means "not configured" (``AirflowNotFoundException``); any other failure to read one (a
secrets backend refusing access, unreachable) propagates and fails the task.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from airflow.sdk.exceptions import AirflowNotFoundException

from esign.composition import pipeline_config, services_for, workspace_for
from esign.crm.base import CrmClient
from esign.crm.bitrix24.settings import Bitrix24Settings
from esign.dispatch.email import SmtpSettings
from esign.errors import ConfigError
from esign.pipeline.services import Services

log = logging.getLogger(__name__)

#: DAG params that map onto pipeline settings.
RUN_SETTINGS = ("crm", "template", "channel", "attach", "batch_size", "max_deals", "auto_approve", "dry_run",
                "reminder_after_days", "max_reminders", "link_valid_days", "signing_order")


def smtp_from_connection(conn_id: str = "smtp_default", defaults: SmtpSettings | None = None) -> SmtpSettings:
    """SMTP settings from an Airflow Connection, or ``defaults`` (the ``ESIGN_SMTP_*`` settings; None: read from
    this process's environment) when there is none; the Connection's blanks take them too."""
    from airflow.sdk import BaseHook

    defaults = defaults if defaults is not None else SmtpSettings.from_env()
    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        log.info("no Airflow connection %r: SMTP settings come from ESIGN_SMTP_* variables", conn_id)
        return defaults
    extra = conn.extra_dejson or {}
    ssl = not _flag(extra.get("disable_ssl", False))
    starttls = not _flag(extra.get("disable_tls", False)) and not ssl
    return SmtpSettings(
        host=conn.host or defaults.host, port=int(conn.port or defaults.port), username=conn.login or "",
        password=conn.password or "", ssl=ssl, starttls=starttls,
        timeout=float(extra.get("timeout", defaults.timeout)),
        from_addr=str(extra.get("from_email") or defaults.from_addr),
    )


def bitrix24_from_connection(conn_id: str = "bitrix24_default") -> Bitrix24Settings | None:
    """Bitrix24 settings from an Airflow Connection; None when there is none (then the environment applies)."""
    from esign.hooks.bitrix24 import Bitrix24Hook

    return Bitrix24Hook(conn_id).settings_if_configured()


#: Per CRM (:mod:`esign.crm.registry` name), how its settings are read from an Airflow Connection (None: none
#: configured, the connector reads its ``ESIGN_*`` variables). A CRM without an entry reads the environment only.
CRM_CONNECTIONS: dict[str, Callable[[], object | None]] = {"bitrix24": bitrix24_from_connection}


def crm_settings_from_connection(crm: str) -> object | None:
    """The settings of ``crm`` from its Airflow Connection, when it has a reader and the Connection exists."""
    reader = CRM_CONNECTIONS.get(crm)
    return reader() if reader is not None else None


def tsa_from_connection(conn_id: str = "esign_tsa", environ: MutableMapping[str, str] | None = None) -> str | None:
    """Fill ``ESIGN_TSA_URL`` (and ``ESIGN_TSA_USERNAME``/``ESIGN_TSA_PASSWORD``) from the Connection, when there
    is one, for the workspace built next; returns the URL, or None (the environment applies as it is)."""
    from airflow.sdk import BaseHook

    env = os.environ if environ is None else environ
    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        log.debug("no Airflow connection %r: the TSA comes from ESIGN_TSA_URL", conn_id)
        return None
    extra = conn.extra_dejson or {}
    host = conn.host or ""
    url = str(extra.get("url") or (host if host.startswith(("http://", "https://")) else ""))
    if not url and host:
        url = f"{conn.schema or 'https'}://{host}{f':{conn.port}' if conn.port else ''}/"
    if not url:
        raise ConfigError(f"Airflow Connection {conn_id}: give the TSA's URL as extra 'url' or as the host")
    env["ESIGN_TSA_URL"] = url
    if conn.login:
        env["ESIGN_TSA_USERNAME"], env["ESIGN_TSA_PASSWORD"] = conn.login, conn.password or ""
    return url


def _flag(value: object) -> bool:
    return value is True or str(value).strip().lower() in ("1", "true", "yes")


def pipeline_overrides(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The Variable ``esign_pipeline`` (JSON), then this run's params."""
    from airflow.sdk import Variable

    overrides: dict[str, Any] = {}
    raw = Variable.get("esign_pipeline", default=None)
    if raw:
        try:
            data = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError as exc:
            raise ConfigError(f"Airflow Variable esign_pipeline: not valid JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise ConfigError("Airflow Variable esign_pipeline: expected a JSON object")
        overrides.update(data)
    for key in RUN_SETTINGS:
        value = (params or {}).get(key)
        if value is not None and value != "":
            overrides[key] = value
    return overrides


def services_from_context(params: Mapping[str, Any] | None) -> Services:
    """The task's services: the TSA Connection filled in before the settings are read, then the composition root
    with the run's overrides and the SMTP and CRM Connections."""
    tsa_from_connection()
    overrides = pipeline_overrides(params)
    ws = workspace_for()
    crm = pipeline_config(ws, overrides).crm
    smtp = smtp_from_connection(defaults=SmtpSettings.from_group(ws.settings.variables.smtp))
    return services_for(overrides, ws=ws, smtp=smtp, crm_settings=crm_settings_from_connection(crm))


def crm_from_context() -> CrmClient:
    """The pipeline's CRM for a task that only reads it (the report): the Variable's settings, the Connection."""
    overrides = pipeline_overrides(None)
    ws = workspace_for()
    crm = pipeline_config(ws, overrides).crm
    return services_for(overrides, ws=ws, crm_settings=crm_settings_from_connection(crm)).crm
