"""``esign rules check`` validates the rules file; ``esign rules explain DEAL_ID`` says which rules would fire."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from esign.cli import EXIT_OK


def register(sub: Any) -> None:
    rules = sub.add_parser("rules", help="automation rules (config/rules.yaml): check, explain")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    check = rules_sub.add_parser("check", help="validate the rules file")
    check.add_argument("--file", type=Path, help="default: ESIGN_RULES_FILE or config/rules.yaml")
    check.set_defaults(handler=check_command)
    explain = rules_sub.add_parser("explain", help="which rules would fire for a deal, and why")
    explain.add_argument("deal_id")
    explain.add_argument("--file", type=Path)
    explain.set_defaults(handler=explain_command)


def _path(args: argparse.Namespace) -> Path:
    from esign.composition import workspace_for

    return args.file or workspace_for().settings.rules_file


def check_command(args: argparse.Namespace) -> int:
    from esign.rules.config import load_rules

    path = _path(args)
    rules = load_rules(path)  # a ConfigError becomes exit code 2 with the rule and field named
    print(f"{path}: {len(rules)} rule(s) valid" + ("" if path.exists() else " (no file: no rules)"))
    for rule in rules:
        print(f"  {rule.name}: {rule.trigger} -> {', '.join(a.type for a in rule.actions)}")
    return EXIT_OK


def explain_command(args: argparse.Namespace) -> int:
    from esign.composition import services_for
    from esign.rules.config import load_rules
    from esign.rules.engine import explain

    rules = load_rules(_path(args))
    for line in explain(services_for(), rules, str(args.deal_id)) or ["no rules configured"]:
        print(line)
    return EXIT_OK
