"""``esign crm``: look at the CRM the pipeline reads, the same way for the embedded CRM and Bitrix24.

- ``esign crm stages [--crm local|bitrix24] [--json]``: every pipeline's stages (code, name, semantics).
- ``esign crm pull --stage CODE_OR_NAME [--crm ...] [--limit N] [--format jsonl|table]``: the deals of a
  stage, normalised exactly as the pipeline sees them, one per line (problems included).
- ``esign crm seed --deals N``: demo deals in the embedded CRM.

Bitrix24 is reached through ``ESIGN_BITRIX24_WEBHOOK`` (see :mod:`esign.crm.bitrix24.settings`).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from itertools import islice
from typing import Any

from esign.cli import EXIT_OK, UsageError
from esign.crm.base import CrmClient, FetchedDeal
from esign.crm.registry import CrmContext, build_crm, crm_names

FETCH_CHUNK = 2500  # IDs per fetch_deals call when pulling: one chained export request of Bitrix24


def register(sub: Any) -> None:
    crm = sub.add_parser("crm", help="the CRM: stages, deals as the pipeline reads them, demo data")
    crm_sub = crm.add_subparsers(dest="crm_command", required=True, metavar="ACTION")

    stages = crm_sub.add_parser("stages", help="list every pipeline's deal stages")
    _crm_option(stages)
    stages.add_argument("--json", action="store_true", help="one JSON object per stage")
    stages.set_defaults(handler=stages_command)

    pull = crm_sub.add_parser("pull", help="print the normalised deals of one stage, one per line")
    _crm_option(pull)
    pull.add_argument("--stage", required=True, help="stage code (C1:PREPARATION) or its name")
    pull.add_argument("--limit", type=int, help="at most this many deals")
    pull.add_argument("--format", choices=("jsonl", "table"), default="jsonl")
    pull.set_defaults(handler=pull_command)

    seed = crm_sub.add_parser("seed", help="add demo deals to the embedded CRM")
    seed.add_argument("--deals", type=int, default=50, help="how many (default 50)")
    seed.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    seed.add_argument("--category", default="1", help="pipeline ID (default 1)")
    seed.add_argument("--signers-every", type=int, default=5,
                      help="every Nth deal gets two client signers, two witnesses and a copy (default 5; 0: none)")
    seed.set_defaults(handler=seed_command)


def _crm_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--crm", choices=crm_names(), help="default: crm in config/pipeline.yaml")


def open_crm(name: str | None) -> CrmClient:
    """The client for ``name`` (default: the pipeline setting), configured from the ``ESIGN_*`` settings."""
    from esign.composition import pipeline_config, workspace_for

    ws = workspace_for()
    if name is None:
        name = pipeline_config(ws).crm
    # the same state folder as the running DAGs: a Bitrix24 portal's request budget is shared with them
    return build_crm(name, CrmContext(engine=ws.engine, settings=ws.settings.variables,
                                      state_dir=ws.settings.workdir / "run"))


def stages_command(args: argparse.Namespace) -> int:
    crm = open_crm(args.crm)
    try:
        for stage in crm.list_stages():
            if args.json:
                print(json.dumps({"id": stage.id, "name": stage.name, "category_id": stage.category_id,
                                  "semantics": stage.semantics}, ensure_ascii=False))
            else:
                print(f"{stage.id:<24} {stage.category_id:>4}  {stage.semantics or '-':<2} {stage.name}")
    finally:
        _close(crm)
    return EXIT_OK


def pull_command(args: argparse.Namespace) -> int:
    from esign.crm.bitrix24.stages import resolve_stage

    if args.limit is not None and args.limit < 0:
        raise UsageError(f"--limit: must not be negative (got {args.limit})")
    crm = open_crm(args.crm)
    try:
        stage = resolve_stage(args.stage, crm.list_stages()).id
        for fetched in pull(crm, stage, args.limit):
            record = deal_record(fetched)
            print(json.dumps(record, ensure_ascii=False) if args.format == "jsonl" else _table_line(record))
    finally:
        _close(crm)
    return EXIT_OK


def pull(crm: CrmClient, stage_id: str, limit: int | None = None) -> Iterator[FetchedDeal]:
    """The stage's deals in ID order, fetched in ranges of listed IDs (deals that joined meanwhile are left out)."""
    ids = crm.iter_deal_ids(stage_id, limit=limit)
    while chunk := list(islice(ids, FETCH_CHUNK)):
        wanted = set(chunk)
        for fetched in crm.fetch_deals(stage_id, chunk[0], chunk[-1]):
            if fetched.deal_id in wanted:
                yield fetched


def deal_record(fetched: FetchedDeal) -> dict[str, Any]:
    """One deal as printed: money as an exact decimal string, the counterparty and its contact apart."""
    deal = fetched.deal
    party = deal.counterparty
    manager = deal.manager
    return {
        "id": int(deal.id), "title": deal.title, "stage": deal.stage_id, "category": deal.category_id,
        "amount": str(deal.amount), "currency": deal.currency,
        "company": {"name": party.name, "tax_id": party.tax_id, "address": party.address},
        "contact": {"name": party.representative or party.name, "title": party.representative_title,
                    "email": party.email, "phone": party.phone},
        "manager": None if manager is None else {"id": manager.id, "name": manager.name, "email": manager.email,
                                                 "department": manager.department},
        "line_items": [{"description": i.description, "quantity": str(i.quantity), "unit_price": str(i.unit_price)}
                       for i in deal.line_items],
        "problems": list(fetched.problems),
    }


def _table_line(record: dict[str, Any]) -> str:
    manager = record["manager"]["name"] if record["manager"] else "-"
    contact = record["contact"]
    return "\t".join([str(record["id"]), record["stage"], f"{record['amount']} {record['currency']}", record["title"],
                      record["company"]["name"] or "-", contact["email"] or "-", contact["phone"] or "-", manager,
                      "; ".join(record["problems"])])


def seed_command(args: argparse.Namespace) -> int:
    from esign.composition import workspace_for
    from esign.crm.seed import seed_demo

    if not 0 <= args.deals <= 1_000_000:
        raise UsageError(f"--deals: must be from 0 to 1000000 (got {args.deals})")
    if args.signers_every < 0:
        raise UsageError(f"--signers-every: must not be negative (got {args.signers_every})")
    summary = seed_demo(workspace_for().engine, args.deals, rng_seed=args.seed, category_id=args.category,
                        signers_every=args.signers_every)
    span = f" (IDs {summary.first_deal_id}..{summary.last_deal_id})" if summary.deals else ""
    print(f"seeded {summary.deals} deals{span}, {summary.companies} companies, {summary.contacts} contacts, "
          f"{len(summary.broken)} broken on purpose, {len(summary.several_signers)} with several signers")
    return EXIT_OK


def _close(crm: CrmClient) -> None:
    close = getattr(crm, "close", None)
    if callable(close):
        close()
