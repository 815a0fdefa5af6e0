"""Grouped reads: the counted deal export, and read commands packed 50 to a ``batch`` with retries per command.

Why counted: a chained export (command *i* filters ``>ID`` on ``$result[cmd_{i-1}][49][ID]``) must decide how
many pages to chain before it knows where the stage ends, and every chained command runs and counts toward
``crm.deal.list``'s time budget even after the data ran out (the portal then resolves the reference to the
whole previous page, not to nothing). One counted first page (``start=0`` answers ``total``) tells exactly how
many pages follow; the rest are chained uncounted (``start=-1``), as the docs recommend for large exports.

Why packed: the portal counts HTTP requests, not commands, so independent reads of any kind (product rows,
companies, contacts, users, departments) share requests up to 50 commands each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from esign.crm.bitrix24.errors import Bitrix24Error, Bitrix24MethodTimeLimitError
from esign.crm.bitrix24.query import command
from esign.crm.bitrix24.transport import MAX_BATCH, Bitrix24Transport

PAGE_SIZE = 50  # fixed by the portal
Row = Mapping[str, Any]


def pages_for(rows: int) -> int:
    return -(-rows // PAGE_SIZE)


def export(transport: Bitrix24Transport, method: str, base: Mapping[str, Any], select: Sequence[str],
           limit: int | None = None) -> Iterator[Row]:
    """Rows by ascending ID: one counted page, then exactly the chained pages the count asks for (50 a
    request). ``limit`` bounds the rows (and so the pages). Rows that joined after the count are left out."""
    if limit is not None and limit <= 0:
        return
    taken = 0
    last: int | None = None

    def fresh(page: Any) -> Iterator[Row]:
        nonlocal last, taken
        for row in page if isinstance(page, list) else list(page.values()) if isinstance(page, dict) else []:
            row_id = int(str(row["ID"]))
            if last is not None and row_id <= last:
                continue  # never twice, whatever a misresolved reference returns
            if limit is not None and taken >= limit:
                return
            last, taken = row_id, taken + 1
            yield row

    def params(flt: Mapping[str, Any], start: int) -> dict[str, Any]:
        return {"filter": dict(flt), "order": {"ID": "ASC"}, "select": list(select), "start": start}

    one_page = limit is not None and limit <= PAGE_SIZE
    answer = transport.call_full(method, params(base, -1 if one_page else 0))
    page = answer.get("result") or []
    yield from fresh(page)
    left = int(str(answer.get("total") or 0)) - len(page)
    while not one_page and left > 0 and len(page) == PAGE_SIZE and (limit is None or taken < limit):
        wanted = pages_for(left) if limit is None else min(pages_for(left), pages_for(limit - taken))
        count = min(MAX_BATCH, wanted)
        commands = {}
        for i in range(count):
            flt = dict(base)
            flt[">ID"] = last if i == 0 else f"$result[cmd_{i - 1}][{PAGE_SIZE - 1}][ID]"
            commands[f"cmd_{i}"] = command(method, params(flt, -1))
        batch = transport.batch(commands)
        for i in range(count):
            name = f"cmd_{i}"
            if name in batch.errors:
                raise batch.errors[name]
            page = batch.results.get(name) or []
            yield from fresh(page)
            left -= len(page)
            if len(page) < PAGE_SIZE or (limit is not None and taken >= limit):
                return


@dataclass
class Answers:
    """Results, list totals and errors of many commands, by command name."""

    results: dict[str, Any] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    errors: dict[str, Bitrix24Error] = field(default_factory=dict)


def run(transport: Bitrix24Transport, commands: Mapping[str, str], *, attempts: int = 5) -> Answers:
    """Run read commands 50 per request. A command refused by its method's time limit is run again once the
    method's pause is over (the transport waits for it), at most ``attempts`` times; other errors are returned."""
    answers = Answers()
    pending = dict(commands)
    for _round in range(max(1, attempts)):
        items = list(pending.items())
        pending = {}
        for start in range(0, len(items), MAX_BATCH):
            chunk = dict(items[start:start + MAX_BATCH])
            batch = transport.batch(chunk)
            answers.results.update(batch.results)
            answers.totals.update({k: int(str(v)) for k, v in batch.totals.items() if str(v).isdigit()})
            for name, error in batch.errors.items():
                if isinstance(error, Bitrix24MethodTimeLimitError):
                    pending[name] = chunk[name]
                    answers.errors[name] = error
                else:
                    answers.errors[name] = error
        for name in answers.results:
            answers.errors.pop(name, None)
        if not pending:
            break
    return answers


def groups(ids: Sequence[str], size: int = PAGE_SIZE) -> list[list[str]]:
    """IDs in ascending numeric order, ``size`` per group (one page of a list filtered by ``@ID``)."""
    ordered = sorted(set(ids), key=_int)
    return [ordered[i:i + size] for i in range(0, len(ordered), size)]


def by_id(commands_rows: Mapping[str, Any], accept: Callable[[str], bool]) -> dict[str, Row]:
    """Rows of list answers whose command name passes ``accept``, keyed by their ID."""
    found: dict[str, Row] = {}
    for name, rows in commands_rows.items():
        if accept(name) and isinstance(rows, list):
            found.update({str(r.get("ID")): r for r in rows if isinstance(r, Mapping)})
    return found


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def all_pages(transport: Bitrix24Transport, method: str, params: Mapping[str, Any], *, start_key: str = "start",
              attempts: int = 5) -> list[Any]:
    """Every row of a small list (users of some departments, the company structure): one counted page, then
    the other pages at once, 50 commands per request."""
    answer = transport.call_full(method, {**params, start_key: 0})
    rows = list(answer.get("result") or [])
    total = int(str(answer.get("total") or 0))
    starts = range(PAGE_SIZE, total, PAGE_SIZE)
    if starts:
        more = run(transport, {f"page{s}": command(method, {**params, start_key: s}) for s in starts},
                   attempts=attempts)
        for error in more.errors.values():
            raise error
        for s in starts:
            page = more.results.get(f"page{s}")
            rows.extend(page if isinstance(page, list) else [])
    return rows
