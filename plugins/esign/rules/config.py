"""Automation rules from YAML (``config/rules.yaml``), checked at load with errors naming the rule and field.

Mirrors Bitrix24's sign triggers and automation: a trigger (deal enters a stage, company signed, client signed,
all signed, declined, expired, no response after N days), optional conditions on deal fields, and actions.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from esign.dispatch.registry import AUTO, preferences
from esign.errors import ConfigError

#: Triggers on a document, by the stage it reaches.
DOCUMENT_TRIGGERS = {"company_signed": "company_signed", "client_signed": "client_signed",
                     "all_signed": "completed", "declined": "declined", "expired": "expired"}
TRIGGERS = (*DOCUMENT_TRIGGERS, "deal_enters_stage", "no_response")
#: Each action with its required and optional fields.
ACTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "send_document": (("template",), ("channel",)),
    "move_deal": (("stage",), ()),
    "remind": ((), ()),
    "email_manager": (("subject", "text"), ()),
    "comment": (("text",), ()),
    "task": (("text",), ()),
}
PLACEHOLDERS = frozenset({"deal_id", "document_id", "title", "counterparty", "rule", "reason"})


@dataclass(frozen=True, slots=True)
class Action:
    type: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Conditions:
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    pipeline: str | None = None  # CRM category ID
    template: str | None = None

    @property
    def needs_deal(self) -> bool:
        return self.amount_min is not None or self.amount_max is not None or self.pipeline is not None


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    trigger: str
    actions: tuple[Action, ...]
    stage: str | None = None  # deal_enters_stage
    days: int | None = None  # no_response
    when: Conditions = field(default_factory=Conditions)


def load_rules(path: Path) -> list[Rule]:
    """The rules of ``path``; a missing file means no rules."""
    if not path.exists():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"rules file {path}: not valid YAML ({exc})") from exc
    return parse_rules(data, str(path))


def parse_rules(data: Any, source: str = "rules") -> list[Rule]:
    if not isinstance(data, Mapping) or not isinstance(data.get("rules", []), list):
        raise ConfigError(f"{source}: expected a mapping with a list under 'rules'")
    rules, names = [], set()
    for n, item in enumerate(data.get("rules") or [], start=1):
        rule = _rule(item, f"{source}: rule #{n}")
        if rule.name in names:
            raise ConfigError(f"{source}: rule {rule.name!r}: the name is used twice")
        names.add(rule.name)
        rules.append(rule)
    return rules


def _rule(item: Any, where: str) -> Rule:
    if not isinstance(item, Mapping):
        raise ConfigError(f"{where}: expected a mapping")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100 or "|" in name:
        raise ConfigError(f"{where}: name: required, at most 100 characters, no '|'")
    where = f"{where.split(': rule #')[0]}: rule {name!r}"
    unknown = sorted(set(item) - {"name", "trigger", "when", "actions", "description"})
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}")
    trigger = item.get("trigger")
    if isinstance(trigger, str):
        trigger = {"type": trigger}
    if not isinstance(trigger, Mapping) or trigger.get("type") not in TRIGGERS:
        raise ConfigError(f"{where}: trigger.type: must be one of {', '.join(TRIGGERS)}")
    kind = str(trigger["type"])
    stage, days = trigger.get("stage"), trigger.get("days")
    if kind == "deal_enters_stage" and (not isinstance(stage, str) or not stage.strip()):
        raise ConfigError(f"{where}: trigger.stage: required for deal_enters_stage (a CRM stage code)")
    if kind == "no_response" and (not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365):
        raise ConfigError(f"{where}: trigger.days: a whole number of days from 1 to 365, got {days!r}")
    when = _conditions(item.get("when") or {}, where)
    if when.template is not None and kind == "deal_enters_stage":
        raise ConfigError(f"{where}: when.template: only for document triggers (a deal has no template yet)")
    raw_actions = item.get("actions")
    if not isinstance(raw_actions, list) or not raw_actions:
        raise ConfigError(f"{where}: actions: a non-empty list")
    actions = tuple(_action(a, f"{where}: actions[{i}]") for i, a in enumerate(raw_actions))
    if kind == "deal_enters_stage" and any(a.type == "remind" for a in actions):
        raise ConfigError(f"{where}: remind: needs a document trigger (a deal alone has no signing link)")
    return Rule(name=name.strip(), trigger=kind, actions=actions, stage=stage if isinstance(stage, str) else None,
                days=days if kind == "no_response" else None, when=when)


def _conditions(raw: Any, where: str) -> Conditions:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: when: expected a mapping")
    unknown = sorted(set(raw) - {"amount_min", "amount_max", "pipeline", "template"})
    if unknown:
        raise ConfigError(f"{where}: when: unknown field(s) {', '.join(unknown)}")
    amounts: dict[str, Decimal | None] = {}
    for key in ("amount_min", "amount_max"):
        value = raw.get(key)
        try:
            amounts[key] = None if value is None or isinstance(value, bool) else Decimal(str(value))
        except InvalidOperation:
            raise ConfigError(f"{where}: when.{key}: must be a number, got {value!r}") from None
        if isinstance(value, bool):
            raise ConfigError(f"{where}: when.{key}: must be a number, got {value!r}")
    texts = {k: None if raw.get(k) is None else str(raw[k]) for k in ("pipeline", "template")}
    return Conditions(amount_min=amounts["amount_min"], amount_max=amounts["amount_max"], **texts)


def _action(raw: Any, where: str) -> Action:
    if not isinstance(raw, Mapping) or raw.get("type") not in ACTIONS:
        raise ConfigError(f"{where}: type: must be one of {', '.join(ACTIONS)}")
    kind = str(raw["type"])
    required, optional = ACTIONS[kind]
    unknown = sorted(set(raw) - {"type", *required, *optional})
    if unknown:
        raise ConfigError(f"{where} ({kind}): unknown field(s) {', '.join(unknown)}")
    params: dict[str, str] = {}
    for key in (*required, *optional):
        value = raw.get(key)
        if value is None:
            if key in required:
                raise ConfigError(f"{where} ({kind}): {key}: required")
            continue
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where} ({kind}): {key}: must be non-empty text")
        params[key] = value
    if params.get("channel", AUTO) not in preferences():
        raise ConfigError(f"{where} ({kind}): channel: must be one of {', '.join(preferences())}")
    for key in ("text", "subject"):
        if key in params:
            fields = {f for _, f, _, _ in string.Formatter().parse(params[key]) if f is not None}
            bad = sorted(fields - PLACEHOLDERS)
            if bad:
                raise ConfigError(f"{where} ({kind}): {key}: unknown placeholder(s) {', '.join(bad)} "
                                  f"(use {', '.join(sorted(PLACEHOLDERS))})")
    return Action(kind, params)

