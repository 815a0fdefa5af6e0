"""Commands of the batch pipeline (demo, CRM, operations)."""

from __future__ import annotations

from typing import Any

from esign.cli import (
    access_command,
    crm_command,
    demo_command,
    doctor_command,
    ops_commands,
    report_command,
    rules_command,
)


def register(sub: Any) -> None:
    demo_command.register(sub)
    crm_command.register(sub)
    ops_commands.register(sub)
    access_command.register(sub)
    rules_command.register(sub)
    doctor_command.register(sub)
    report_command.register(sub)
