"""Which CRM stages the pipeline reads from and moves deals to, checked against the CRM at start.

Why check at start: a typo in a stage code found mid-run would leave half a batch moved and half not.
``validate`` runs before the first deal is touched and names every unknown code at once.

Quarantined (bad data) and failed (a technical failure the pipeline gave up on) deals go to a review
stage (``C1:UC_REVIEW`` "Dados a corrigir") with a comment giving the reasons, so they leave the trigger
stage and are not pulled again until a person fixes them and moves them back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from esign.crm.base import StageInfo
from esign.errors import ConfigError, CrmError


class CrmConfigError(CrmError, ConfigError):
    """The stage map does not fit the CRM (unknown or misplaced stage codes). Both a CRM and a config error."""


def stage_code(category_id: str, code: str) -> str:
    """Bitrix24's stage ID: bare ``code`` in the default pipeline "0", ``C<N>:code`` in pipeline N."""
    return code if category_id in ("", "0") else f"C{category_id}:{code}"


@dataclass(frozen=True, slots=True)
class CrmStageMap:
    """The stage codes the pipeline uses. Defaults fit the demo pipeline C1 seeded by :mod:`esign.crm.seed`."""

    trigger: str = "C1:PREPARATION"  # deals here get a contract
    awaiting: str = "C1:EXECUTING"  # sent, waiting for the client's signature
    signed: str = "C1:WON"
    declined: str = "C1:LOSE"
    expired: str = "C1:UC_EXPIRED"
    quarantined: str = "C1:UC_REVIEW"  # bad data: a person must fix the deal
    failed: str = "C1:UC_REVIEW"  # technical failure the pipeline gave up on

    @classmethod
    def for_category(cls, category_id: str) -> CrmStageMap:
        """The seeded stage codes of another pipeline (``"0"``: bare codes)."""
        defaults = cls()
        return cls(**{f.name: stage_code(category_id, getattr(defaults, f.name).split(":", 1)[1])
                      for f in fields(cls)})

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> CrmStageMap:
        """Build from settings (YAML, DAG params); missing keys keep their defaults, unknown keys are errors."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise CrmConfigError(f"crm stages: unknown setting(s) {', '.join(unknown)} "
                                 f"(expected {', '.join(sorted(known))})")
        values: dict[str, str] = {}
        for key, value in data.items():
            if not isinstance(value, str) or not value.strip():
                raise CrmConfigError(f"crm stages: {key} must be a non-empty stage code, got {value!r}")
            values[key] = value.strip()
        return cls(**values)

    def as_dict(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def validate(self, stages: list[StageInfo]) -> None:
        """Raise :class:`CrmConfigError` naming every code the CRM does not know, or misplaced stages."""
        by_id = {s.id: s for s in stages}
        mapping = self.as_dict()
        unknown = [f"{key}={code!r}" for key, code in mapping.items() if code not in by_id]
        if unknown:
            raise CrmConfigError(f"crm stages: unknown stage code(s): {', '.join(unknown)}")
        problems: list[str] = []
        for key, code in mapping.items():
            if key != "trigger" and code == self.trigger:
                problems.append(f"{key} is the trigger stage {code!r}: deals would be pulled again")
        category = by_id[self.trigger].category_id
        other = [f"{key}={code!r}" for key, code in mapping.items() if by_id[code].category_id != category]
        if other:
            problems.append(f"not in the trigger's pipeline {category}: {', '.join(other)}")
        if problems:
            raise CrmConfigError("crm stages: " + "; ".join(problems))
