"""The rules file is checked at load; every error names the rule and the field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from esign.config import Settings
from esign.errors import ConfigError
from esign.rules.config import load_rules, parse_rules
from tests.support import PROJECT_DIR


def _one(**rule: object) -> dict[str, object]:
    return {"rules": [{"name": "r1", "trigger": "declined", "actions": [{"type": "comment", "text": "x"}], **rule}]}


def test_shipped_file_and_its_examples_are_valid() -> None:
    path = PROJECT_DIR / "config" / "rules.yaml"
    assert load_rules(path) == []
    text = path.read_text(encoding="utf-8").split("# --- examples ---\n", 1)[1]
    examples = "\n".join(line[2:] if line.startswith("# ") else "" for line in text.splitlines())
    rules = parse_rules(yaml.safe_load(examples))
    assert [r.name for r in rules] == ["lembrete-apos-5-dias", "recusa-avisa-gestor", "grandes-contratos-assinados"]
    assert rules[0].days == 5 and rules[2].when.amount_min == Decimal(50000)


def test_missing_file_means_no_rules(tmp_path: Path) -> None:
    assert load_rules(tmp_path / "none.yaml") == []
    pipeline = {"ESIGN_PIPELINE_FILE": str(tmp_path / "pipeline.yaml")}
    assert Settings.from_env(pipeline).rules_file == tmp_path / "rules.yaml"
    assert Settings.from_env({**pipeline, "ESIGN_RULES_FILE": "/x/r.yaml"}).rules_file == Path("/x/r.yaml")


def test_bad_yaml_named(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_rules(path)


@pytest.mark.parametrize(("data", "message"), [
    ([1], "expected a mapping with a list"),
    ({"rules": [5]}, "rule #1: expected a mapping"),
    ({"rules": [{"trigger": "declined"}]}, "rule #1: name: required"),
    (_one(trigger="signed"), "rule 'r1': trigger.type: must be one of"),
    (_one(trigger={"type": "deal_enters_stage"}), "rule 'r1': trigger.stage: required"),
    (_one(trigger={"type": "no_response", "days": 0}), "rule 'r1': trigger.days"),
    (_one(trigger={"type": "no_response", "days": "3"}), "rule 'r1': trigger.days"),
    (_one(colour="red"), "rule 'r1': unknown field"),
    (_one(actions=[]), "rule 'r1': actions: a non-empty list"),
    (_one(actions=[{"type": "fly"}]), r"rule 'r1': actions\[0\]: type: must be one of"),
    (_one(actions=[{"type": "move_deal"}]), r"actions\[0\] \(move_deal\): stage: required"),
    (_one(actions=[{"type": "move_deal", "stage": ""}]), r"stage: must be non-empty text"),
    (_one(actions=[{"type": "comment", "text": "x", "extra": 1}]), r"\(comment\): unknown field"),
    (_one(actions=[{"type": "comment", "text": "{amount}"}]), r"text: unknown placeholder\(s\) amount"),
    (_one(actions=[{"type": "send_document", "template": "t", "channel": "fax"}]), "channel: must be one of"),
    (_one(when={"amount_min": "lots"}), r"rule 'r1': when.amount_min: must be a number"),
    (_one(when={"amount_max": True}), r"when.amount_max: must be a number"),
    (_one(when={"colour": "red"}), r"when: unknown field"),
    (_one(when=[1]), r"when: expected a mapping"),
    (_one(trigger={"type": "deal_enters_stage", "stage": "C1:NEW"}, when={"template": "t"}), "when.template: only"),
    (_one(trigger={"type": "deal_enters_stage", "stage": "C1:NEW"}, actions=[{"type": "remind"}]),
     "remind: needs a document trigger"),
])
def test_errors_name_rule_and_field(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_rules(data)


def test_duplicate_names_refused() -> None:
    data = {"rules": _one()["rules"] * 2}  # type: ignore[operator]
    with pytest.raises(ConfigError, match="rule 'r1': the name is used twice"):
        parse_rules(data)


def test_cli_check_and_explain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    from esign.cli import EXIT_OK, EXIT_USAGE, main

    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(yaml.safe_dump(_one()))
    bad.write_text(yaml.safe_dump(_one(trigger="nope")))
    assert main(["rules", "check", "--file", str(good)]) == EXIT_OK
    assert "1 rule(s) valid" in capsys.readouterr().out
    assert main(["rules", "check", "--file", str(bad)]) == EXIT_USAGE
    assert "rule 'r1': trigger.type" in capsys.readouterr().err
    assert main(["rules", "check", "--file", str(tmp_path / "none.yaml")]) == EXIT_OK
    monkeypatch.setenv("ESIGN_HOME", str(tmp_path))
    monkeypatch.setenv("ESIGN_LINK_SECRET", "x" * 40)
    from esign.composition import reset, workspace_for
    from esign.crm.seed import seed_demo

    seed_demo(workspace_for().engine, 3, rng_seed=1)
    reset()
    assert main(["rules", "explain", "1", "--file", str(good)]) == EXIT_OK
    assert "r1: no — trigger declined not met" in capsys.readouterr().out
    reset()
