"""Stage references in settings: a stage code (``C1:PREPARATION``) or the name people see (``Preparação``).

Why resolve at start: ops copy stage names from the Bitrix24 UI, but the API speaks codes. Resolving every
reference once, before any deal is touched, turns a typo into one clear :class:`CrmConfigError` instead of a
failure halfway through a run. Names are matched without case; a name used in several pipelines is taken
from the trigger's pipeline, else it is ambiguous and must be given as a code.
"""

from __future__ import annotations

import re
from dataclasses import fields, replace

from esign.crm.base import StageInfo
from esign.crm.config import CrmConfigError, CrmStageMap

_CODE = re.compile(r"^(C\d+:)?[A-Z0-9_]+$")


def looks_like_code(ref: str) -> bool:
    """Codes are upper-case ASCII (``NEW``, ``C1:UC_REVIEW``); names have spaces, accents or lower case."""
    return bool(_CODE.match(ref.strip()))


def resolve_stage(ref: str, stages: list[StageInfo], *, category_id: str | None = None) -> StageInfo:
    """The stage ``ref`` names (code first, then name); :class:`CrmConfigError` when unknown or ambiguous."""
    wanted = ref.strip()
    for stage in stages:
        if stage.id == wanted:
            return stage
    matches = [s for s in stages if s.name.strip().casefold() == wanted.casefold()]
    if len(matches) > 1 and category_id is not None:
        matches = [s for s in matches if s.category_id == category_id] or matches
    if len(matches) == 1:
        return matches[0]
    if matches:
        codes = ", ".join(s.id for s in matches)
        raise CrmConfigError(f"crm stage {ref!r}: the name is used in several pipelines ({codes}); give the code")
    known = ", ".join(f"{s.id} ({s.name})" for s in stages) or "none"
    raise CrmConfigError(f"crm stage {ref!r}: no stage has this code or name (known: {known})")


def resolve_stage_map(stage_map: CrmStageMap, stages: list[StageInfo]) -> CrmStageMap:
    """``stage_map`` with every name replaced by its code; unknown references are named all at once."""
    errors: list[str] = []
    try:
        trigger = resolve_stage(stage_map.trigger, stages)
    except CrmConfigError as exc:
        errors.append(f"trigger: {exc}")
        trigger = None
    values: dict[str, str] = {}
    for f in fields(stage_map):
        ref = getattr(stage_map, f.name)
        if f.name == "trigger":
            if trigger is not None:
                values["trigger"] = trigger.id
            continue
        try:
            values[f.name] = resolve_stage(ref, stages, category_id=trigger.category_id if trigger else None).id
        except CrmConfigError as exc:
            errors.append(f"{f.name}: {exc}")
    if errors:
        raise CrmConfigError("; ".join(errors))
    return replace(stage_map, **values)
