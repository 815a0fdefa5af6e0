"""YAML loading that remembers the line of every string, so template errors can name the line.

Ops edit templates by hand; "template contrato_servicos.yaml line 42: unexpected '}'" saves them a hunt.
"""

from __future__ import annotations

from typing import Any

import yaml


class LocatedStr(str):
    """A string from a YAML file, with the 1-based line where its text starts."""

    line: int


class _Loader(yaml.SafeLoader):
    pass


def _construct_str(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> LocatedStr:
    value = LocatedStr(loader.construct_scalar(node))
    # Block scalars (| and >) start on the line after their indicator.
    value.line = node.start_mark.line + 1 + (1 if node.style in ("|", ">") else 0)
    return value


_Loader.add_constructor("tag:yaml.org,2002:str", _construct_str)


def load_yaml(text: str) -> Any:
    """Parse YAML (safe subset); raises yaml.YAMLError with a problem_mark on syntax errors."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader


def line_of(value: object, default: int = 0) -> int:
    """The source line of a loaded string, or ``default`` for other values."""
    return getattr(value, "line", default)
