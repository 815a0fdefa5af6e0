"""Commands of the document core: keys, database, verification."""

from __future__ import annotations

import argparse
import json
from dataclasses import fields
from typing import Any

from esign.cli import EXIT_OK
from esign.composition import read_settings, workspace_for
from esign.config import key_passphrase


def register(sub: Any) -> None:
    keys = sub.add_parser("keys", help="company CA and the director's signing certificate")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    init = keys_sub.add_parser("init", help="create a company CA and a director certificate (embedded default)")
    init.add_argument("--force", action="store_true", help="replace existing keys")
    init.add_argument("--director-name", help="default: the representative in the company file")
    init.add_argument("--director-title", help="default: the representative's title in the company file")
    init.add_argument("--valid-days", type=int, default=825)
    init.set_defaults(handler=keys_init)
    show = keys_sub.add_parser("show", help="subject, issuer, validity and fingerprint of the signing certificate")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=keys_show)

    db = sub.add_parser("db", help="the ledger database")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("init", help="create the ledger tables (safe to run twice)").set_defaults(handler=db_init)
    db_sub.add_parser("upgrade", help="apply the ledger's schema migrations up to head (safe to run twice)"
                      ).set_defaults(handler=_db_upgrade)

    from esign.cli import verify_command

    verify_command.register(sub)


def _db_upgrade(args: argparse.Namespace) -> int:
    from esign.cli.doctor_command import db_upgrade

    return db_upgrade(args)


def keys_init(args: argparse.Namespace) -> int:
    from esign.signing import init_keys

    ws = workspace_for()
    company = ws.company
    paths = init_keys(ws.settings.keys_dir, key_passphrase(ws.settings.variables), company_name=company.party.name,
                      director_name=args.director_name or company.director_name,
                      director_title=args.director_title or company.director_title,
                      valid_days=args.valid_days, force=args.force)
    print(f"created the company CA and the director's certificate in {ws.settings.keys_dir}")
    for field in fields(paths):  # a slotted dataclass: no __dict__ for vars()
        print(f"  {field.name}: {getattr(paths, field.name)}")
    return EXIT_OK


def keys_show(args: argparse.Namespace) -> int:
    from esign.signing import describe_identity

    info = describe_identity(workspace_for().identity)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
    else:
        for key, value in info.items():
            print(f"{key:>18}: {value}")
    return EXIT_OK


def db_init(_args: argparse.Namespace) -> int:
    settings = read_settings()
    workspace_for(settings).ledger.stage_counts()  # touching the ledger creates the schema
    print(f"ledger ready at {settings.database_url.split('@')[-1]}")
    return EXIT_OK
