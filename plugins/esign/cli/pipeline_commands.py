"""Commands of the batch pipeline (demo, CRM, portal, status)."""

from __future__ import annotations

from typing import Any

from esign.cli import demo_command


def register(sub: Any) -> None:
    demo_command.register(sub)
