"""Commands of the batch pipeline (demo, CRM, portal, status)."""

from __future__ import annotations

from typing import Any

from esign.cli import demo_command, ops_commands


def register(sub: Any) -> None:
    demo_command.register(sub)
    ops_commands.register(sub)
