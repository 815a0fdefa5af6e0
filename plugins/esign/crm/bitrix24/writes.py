"""The pipeline's write-backs over Bitrix24, batched: stage moves and linked comments 50 per ``batch`` request, and
the timeline read back for a comment's marker.

Why apart from the reads: writes have their own retry rule (a comment whose answer was lost is never re-sent
blindly) and their own errors (a deleted deal is a typed not-found that ends the write-back).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from esign.crm.bitrix24.errors import Bitrix24DealNotFoundError, Bitrix24Error, Bitrix24NotFoundError
from esign.crm.bitrix24.query import command
from esign.crm.bitrix24.transport import MAX_BATCH, Bitrix24Transport
from esign.errors import CrmError

PAGE_SIZE = 50  # fixed by the portal


def deal_not_found(deal_id: int, exc: Bitrix24Error) -> Bitrix24DealNotFoundError:
    return Bitrix24DealNotFoundError(f"deal {deal_id} not found ({exc})", method=exc.method, code=exc.code,
                                     status=exc.status)


def move_deals(transport: Bitrix24Transport, known_stages: set[str],
               moves: Sequence[tuple[int, str]]) -> list[CrmError | None]:
    """``crm.deal.update`` 50 per ``batch`` request; a stage move is idempotent, so a lost answer is retried."""
    outcome: list[CrmError | None] = [None] * len(moves)
    commands: dict[str, str] = {}
    for i, (deal_id, stage_id) in enumerate(moves):
        if stage_id not in known_stages:
            outcome[i] = CrmError(f"unknown deal stage {stage_id!r}")
        else:
            commands[f"m{i}"] = command("crm.deal.update", {
                "id": deal_id, "fields": {"STAGE_ID": stage_id}, "params": {"REGISTER_SONET_EVENT": "N"}})
    for name, error, answer in _write_batches(transport, commands, idempotent=True):
        i = int(name[1:])
        if error is None and answer is not True:
            error = Bitrix24Error(f"Bitrix24 crm.deal.update: deal {moves[i][0]} was not updated ({answer!r})",
                                  method="crm.deal.update")
        outcome[i] = deal_not_found(moves[i][0], error) if isinstance(error, Bitrix24NotFoundError) else error
    return outcome


def add_comments(transport: Bitrix24Transport, comments: Sequence[tuple[int, str]]) -> list[CrmError | None]:
    """``crm.timeline.comment.add`` without files, 50 per ``batch`` request. Never repeated blindly: a batch whose
    answer was lost leaves every comment in it refused as uncertain (the caller checks the timeline)."""
    commands = {f"c{i}": command("crm.timeline.comment.add", {
        "fields": {"ENTITY_ID": deal_id, "ENTITY_TYPE": "deal", "COMMENT": text}})
        for i, (deal_id, text) in enumerate(comments)}
    outcome: list[CrmError | None] = [None] * len(comments)
    for name, error, _answer in _write_batches(transport, commands, idempotent=False):
        i = int(name[1:])
        outcome[i] = deal_not_found(comments[i][0], error) if isinstance(error, Bitrix24NotFoundError) else error
    return outcome


def find_comments(transport: Bitrix24Transport, wanted: Mapping[int, str]) -> set[int]:
    """``crm.timeline.comment.list`` per deal (newest first), 50 deals per ``batch``; a deal with more than one page
    of comments is read further only while its marker is not found."""
    found: set[int] = set()
    deals = sorted(wanted)
    for start in range(0, len(deals), MAX_BATCH):
        chunk = deals[start:start + MAX_BATCH]
        answer = transport.batch({f"t{d}": command("crm.timeline.comment.list", _comment_query(d, 0)) for d in chunk})
        for deal_id in chunk:
            name = f"t{deal_id}"
            if name in answer.errors:
                if isinstance(answer.errors[name], Bitrix24NotFoundError):
                    continue
                raise answer.errors[name]
            if _marker_in(transport, deal_id, wanted[deal_id], answer.results.get(name) or [],
                          _int(answer.totals.get(name, 0))):
                found.add(deal_id)
    return found


def _marker_in(transport: Bitrix24Transport, deal_id: int, marker: str, rows: list[Any], total: int) -> bool:
    offset = PAGE_SIZE
    while True:
        if any(marker in str(row.get("COMMENT") or "") for row in rows if isinstance(row, Mapping)):
            return True
        if offset >= total or len(rows) < PAGE_SIZE:
            return False
        rows = transport.call("crm.timeline.comment.list", _comment_query(deal_id, offset)) or []
        offset += PAGE_SIZE


def _write_batches(transport: Bitrix24Transport, commands: Mapping[str, str], *, idempotent: bool,
                   ) -> Iterator[tuple[str, CrmError | None, Any]]:
    """Each command's (name, error or None, result), 50 commands per request. A whole request that fails (rate
    limit after every retry, an uncertain answer) fails each of its commands with that error."""
    items = list(commands.items())
    for start in range(0, len(items), MAX_BATCH):
        chunk = dict(items[start:start + MAX_BATCH])
        try:
            answer = transport.batch(chunk, idempotent=idempotent)
        except CrmError as exc:
            for name in chunk:
                yield name, exc, None
            continue
        for name in chunk:
            if name in answer.errors:
                yield name, answer.errors[name], None
            elif name in answer.results:
                yield name, None, answer.results[name]
            else:
                yield name, Bitrix24Error(f"Bitrix24 batch: no answer for {chunk[name].split('?', 1)[0]}",
                                          method="batch"), None


def _comment_query(deal_id: int, start: int) -> dict[str, Any]:
    return {"filter": {"ENTITY_ID": deal_id, "ENTITY_TYPE": "deal"}, "select": ["ID", "COMMENT"],
            "order": {"ID": "DESC"}, "start": start}


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
