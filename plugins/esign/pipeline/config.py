"""What a run does: template, channel, batch sizes, reminders, CRM stages. Checked before any deal is touched."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from esign.core.batch_documents import SignerPolicy
from esign.crm.config import CrmStageMap
from esign.crm.registry import crm_names
from esign.dispatch.registry import check_preference
from esign.errors import ConfigError
from esign.model import SignerRole, SigningOrder
from esign.model.signers import COMPANY_POSITIONS

#: How the final PDF reaches the deal: ``file`` attaches it (one CRM request per document), ``link`` puts the
#: download and verification links in the comment (comments 50 per Bitrix24 ``batch``).
ATTACH_MODES = ("file", "link")
SIGNING_ORDERS = tuple(order.value for order in SigningOrder)
SIGNER_ROLES = tuple(role.value for role in SignerRole)


@dataclass(frozen=True, slots=True)
class SignersConfig:
    """The ``signers:`` section: how a document's several signers are invited (see :class:`SignerPolicy`)."""

    order: str = "sequential"  # sequential | parallel; a template's signing_order and the run's override it
    company: str = "before"  # where the company's second signer signs: before | after the client side
    optional_roles: tuple[str, ...] = ()  # roles whose decline does not stop the document, e.g. (witness,)

    @classmethod
    def from_mapping(cls, data: object) -> SignersConfig:
        if isinstance(data, SignersConfig):
            return data
        if not isinstance(data, Mapping):
            raise ConfigError("pipeline signers: must be a mapping with order, company and optional_roles")
        if unknown := sorted(set(map(str, data)) - {"order", "company", "optional_roles"}):
            raise ConfigError(f"pipeline signers: unknown setting(s) {', '.join(unknown)}")
        order, company = data.get("order", "sequential"), data.get("company", "before")
        if order not in SIGNING_ORDERS:
            raise ConfigError(f"pipeline signers.order: must be one of {', '.join(SIGNING_ORDERS)}, got {order!r}")
        if company not in COMPANY_POSITIONS:
            raise ConfigError(f"pipeline signers.company: must be one of {', '.join(COMPANY_POSITIONS)}, "
                              f"got {company!r}")
        roles = data.get("optional_roles") or []
        if not isinstance(roles, list | tuple) or any(r not in SIGNER_ROLES for r in roles):
            raise ConfigError(f"pipeline signers.optional_roles: must be a list of {', '.join(SIGNER_ROLES)}, "
                              f"got {roles!r}")
        return cls(order=str(order), company=str(company), optional_roles=tuple(dict.fromkeys(map(str, roles))))

    def as_dict(self) -> dict[str, Any]:
        return {"order": self.order, "company": self.company, "optional_roles": list(self.optional_roles)}


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    crm: str = "local"
    template: str = "contrato_servicos"
    channel: str = "auto"
    attach: str = "file"
    batch_size: int = 1000
    max_deals: int = 0
    link_valid_days: int = 14
    reminder_after_days: int = 3
    max_reminders: int = 2
    auto_approve: bool = False
    dry_run: bool = False
    stuck_after_minutes: int = 60  # `esign status`/`doctor`: a document owing work longer than this is stuck
    #: A final signed PDF up to this size is attached to the client's e-mail; a bigger one is sent as a link.
    final_copy_attach_max_kb: int = 5120
    stages: CrmStageMap = field(default_factory=CrmStageMap)
    signers: SignersConfig = field(default_factory=SignersConfig)
    #: The run's routing order (the ``signing_order`` param): overrides the template's and ``signers.order``.
    signing_order: str | None = None

    def __post_init__(self) -> None:
        if self.crm not in crm_names():
            raise ConfigError(f"pipeline crm: must be one of {', '.join(crm_names())}, got {self.crm!r}")
        if self.attach not in ATTACH_MODES:
            raise ConfigError(f"pipeline attach: must be one of {', '.join(ATTACH_MODES)}, got {self.attach!r}")
        check_preference(self.channel, "pipeline channel")
        limits = {"batch_size": (1, 5000), "max_deals": (0, 10_000_000), "link_valid_days": (1, 365),
                  "reminder_after_days": (1, 365), "max_reminders": (0, 20), "stuck_after_minutes": (1, 525_600),
                  "final_copy_attach_max_kb": (0, 20_480)}
        for name, (low, high) in limits.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ConfigError(f"pipeline {name}: must be a whole number from {low} to {high}, got {value!r}")
        if not self.template.strip():
            raise ConfigError("pipeline template: must name a template under templates/")
        if self.signing_order is not None and self.signing_order not in SIGNING_ORDERS:
            raise ConfigError(f"pipeline signing_order: must be one of {', '.join(SIGNING_ORDERS)}, "
                              f"got {self.signing_order!r}")

    def signer_policy(self) -> SignerPolicy:
        """How new documents arrange their signers (``prepare_documents(signing=...)``)."""
        return SignerPolicy(order=SigningOrder(self.signers.order), company=self.signers.company,
                            optional_roles=tuple(SignerRole(r) for r in self.signers.optional_roles),
                            run_order=SigningOrder(self.signing_order) if self.signing_order else None)

    def with_overrides(self, overrides: Mapping[str, Any]) -> PipelineConfig:
        """Apply DAG params / Variables; ``None`` values keep the current setting."""
        return _build(self, {k: v for k, v in overrides.items() if v is not None})

    def as_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["stages"] = self.stages.as_dict()
        data["signers"] = self.signers.as_dict()
        return data


def _build(base: PipelineConfig, data: Mapping[str, Any]) -> PipelineConfig:
    known = {f.name for f in fields(PipelineConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"pipeline: unknown setting(s) {', '.join(unknown)}")
    values = dict(data)
    if "stages" in values:
        stages = values["stages"]
        if isinstance(stages, CrmStageMap):
            pass
        elif isinstance(stages, Mapping):
            values["stages"] = CrmStageMap.from_mapping({**base.stages.as_dict(), **stages})
        else:
            raise ConfigError("pipeline stages: must be a mapping of role to stage code")
    if "signers" in values:
        signers = values["signers"]
        if isinstance(signers, Mapping):
            signers = {**base.signers.as_dict(), **signers}
        values["signers"] = SignersConfig.from_mapping(signers)
    for flag in ("auto_approve", "dry_run"):
        if flag in values and not isinstance(values[flag], bool):
            raise ConfigError(f"pipeline {flag}: must be true or false, got {values[flag]!r}")
    return replace(base, **values)


def load_pipeline_config(path: Path | None, overrides: Mapping[str, Any] | None = None) -> PipelineConfig:
    """Defaults, then the YAML file (when it exists), then ``overrides``."""
    config = PipelineConfig()
    if path is not None and path.exists():
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"pipeline file {path}: not valid YAML ({exc})") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"pipeline file {path}: expected a mapping")
        config = _build(config, data)
    return config.with_overrides(overrides or {})
