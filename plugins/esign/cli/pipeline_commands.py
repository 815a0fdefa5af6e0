"""Commands of the batch pipeline (demo, CRM, portal, status)."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    from esign.cli import demo_command

    demo_command.register(sub)
