"""The CRMs a run can work with, registered by name: adding one is a module implementing
:class:`~esign.crm.base.CrmClient` plus one ``register_crm``.

Config validation (``pipeline.crm``), the ``crm`` DAG param, the command line and the worker's services read this
registry. A factory builds the client from a :class:`CrmContext`; it may be given as ``"module:function"`` so that
reading the names (the DAG files do it at parse time) imports no connector.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from esign.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from esign.crm.base import CrmClient
    from esign.settings import EsignSettings


@dataclass(frozen=True, slots=True)
class CrmContext:
    """What a CRM client is built from.

    ``engine``: the workspace database (the embedded CRM lives there; None when a check could not reach it);
    ``settings``: the typed ``ESIGN_*`` settings, read once by the composition root (a connector reads its group,
    as Bitrix24 reads ``settings.bitrix24``); ``state_dir``: where state shared by the processes of one machine
    goes (a portal's request budget); ``crm_settings``: the connector's own settings when an edge read them
    (Bitrix24 from an Airflow Connection), which then take precedence over ``settings``.
    """

    engine: Engine | None
    settings: EsignSettings
    state_dir: Path
    crm_settings: object | None = None


CrmFactory = Callable[[CrmContext], "CrmClient"]

_CRMS: dict[str, CrmFactory | str] = {}


def register_crm(name: str, factory: CrmFactory | str) -> None:
    """Add a CRM (``factory``: a callable, or ``"package.module:function"`` imported on first use).

    Registering the same name again replaces it (a test's fake, a deployment's own connector).
    """
    if not name or not name.isidentifier():
        raise ConfigError(f"CRM name {name!r}: must be a plain word")
    _CRMS[name] = factory


def unregister_crm(name: str) -> None:
    """Remove a CRM (tests that registered one clean up after themselves)."""
    _CRMS.pop(name, None)


def crm_names() -> tuple[str, ...]:
    """The registered CRMs in registration order."""
    return tuple(_CRMS)


def crm_factory(name: str) -> CrmFactory:
    """The factory registered as ``name``; ConfigError naming the registered ones otherwise."""
    factory = _CRMS.get(name)
    if factory is None:
        raise ConfigError(f"pipeline crm: {name!r} has no connector in this version (known: {', '.join(_CRMS)})")
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        try:
            found = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"CRM {name!r}: cannot load {factory} ({exc})") from exc
        factory = _CRMS[name] = cast(CrmFactory, found)
    return factory


def build_crm(name: str, context: CrmContext) -> CrmClient:
    """The client of the CRM registered as ``name``."""
    return crm_factory(name)(context)


register_crm("local", "esign.crm.local:connect")
register_crm("bitrix24", "esign.crm.bitrix24.factory:connect")
