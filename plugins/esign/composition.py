"""The composition root: the one place that reads the ``ESIGN_*`` settings and builds a process's object graph.

Edges (the command line, the Airflow edge, the demo, the web server, the report runner) call in here; nothing
below reads the environment. One call reads every ``ESIGN_*`` variable once (:func:`read_settings`: typed and
validated by :mod:`esign.settings`, every problem in one ConfigError) and resolves the folders
(:class:`~esign.config.Settings`, which keeps the typed settings as ``variables``); the workspace of those
settings is built once per process (:func:`workspace_for`) and the pipeline's services once per workspace and run
overrides (:func:`services_for`). From there the typed settings travel down inside the objects: the workspace
reads its secrets from them, :class:`~esign.pipeline.services.Services` hands them to the CRM connector
(:class:`~esign.crm.registry.CrmContext`) and the channels' senders (:class:`~esign.dispatch.registry.SenderContext`).

What an edge reads elsewhere enters as an argument: the Airflow edge's SMTP and CRM Connections (``smtp``,
``crm_settings``), a DAG run's params (``overrides``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from esign.config import Settings
from esign.dispatch.email import SmtpSettings
from esign.pipeline.config import PipelineConfig, load_pipeline_config
from esign.pipeline.services import Services
from esign.settings import load_settings
from esign.workspace import Workspace

_workspaces: dict[Settings, Workspace] = {}
_services: dict[tuple[Any, ...], Services] = {}
_lock = threading.Lock()


def read_settings(environ: Mapping[str, str] | None = None, project_dir: Path | None = None) -> Settings:
    """Every ``ESIGN_*`` variable of ``environ`` (default: this process's environment), read once, typed and
    validated (every problem in one ConfigError), with the folders resolved."""
    return Settings.from_settings(load_settings(environ), project_dir)


def workspace_for(settings: Settings | None = None) -> Workspace:
    """The process-wide workspace for ``settings`` (default: :func:`read_settings` of this process)."""
    settings = settings or read_settings()
    with _lock:
        ws = _workspaces.get(settings)
        if ws is None:
            ws = _workspaces[settings] = Workspace(settings)
        return ws


def pipeline_config(ws: Workspace, overrides: Mapping[str, Any] | None = None) -> PipelineConfig:
    """What a run does: ``config/pipeline.yaml`` of the workspace with the run's overrides."""
    return load_pipeline_config(ws.settings.pipeline_file, overrides)


def services_for(overrides: Mapping[str, Any] | None = None, ws: Workspace | None = None,
                 smtp: SmtpSettings | None = None, crm_settings: object | None = None) -> Services:
    """The worker's services for its workspace (default: :func:`workspace_for` of this process) and these run
    overrides, cached per process. ``smtp``, ``crm_settings``: what an edge read from its own connections; None:
    the typed settings' ``ESIGN_SMTP_*`` and the CRM's own group."""
    ws = ws or workspace_for()
    config = pipeline_config(ws, overrides)
    smtp = smtp or SmtpSettings.from_group(ws.settings.variables.smtp)
    key = (id(ws), repr(config), repr(smtp), crm_settings)
    with _lock:
        services = _services.get(key)
    if services is None:  # built outside the lock: resolving stage names may ask the CRM
        services = Services(ws=ws, config=config, smtp=smtp, crm_settings=crm_settings)
        with _lock:
            services = _services.setdefault(key, services)
    return services


def reset() -> None:
    """Forget the cached workspaces and services (tests and the demo, after they changed settings or keys)."""
    with _lock:
        _workspaces.clear()
        _services.clear()
