"""PHP-style query strings: how each command inside ``batch`` carries its parameters.

Why: a ``batch`` command is ``"method?query"`` and the portal reads the query with PHP's ``parse_str``, so
nested parameters must be spelled ``filter[>ID]=5&select[0]=ID``. References such as ``$result[cmd_0][49][ID]``
are plain values here; the portal resolves them after decoding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote


def php_query(params: Mapping[str, Any]) -> str:
    """Encode like PHP's ``http_build_query`` (lists get numeric keys, None is skipped, bools are Y/N)."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        _flatten(str(key), value, pairs)
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def _flatten(prefix: str, value: Any, pairs: list[tuple[str, str]]) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(f"{prefix}[{key}]", item, pairs)
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        for index, item in enumerate(value):
            _flatten(f"{prefix}[{index}]", item, pairs)
    elif isinstance(value, bool):
        pairs.append((prefix, "Y" if value else "N"))
    elif isinstance(value, int | float | Decimal | str):
        pairs.append((prefix, str(value)))
    else:
        raise TypeError(f"cannot encode {type(value).__name__} in a Bitrix24 query ({prefix})")


def command(method: str, params: Mapping[str, Any] | None = None) -> str:
    """One ``batch`` command string."""
    return f"{method}?{php_query(params)}" if params else method
