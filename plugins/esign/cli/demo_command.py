"""``esign demo``: the main job on the embedded defaults, with progress and a summary."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from esign.cli import EXIT_FAIL, EXIT_OK, UsageError

#: The portal's port in the demo: the one ``esign portal`` and ``ESIGN_PUBLIC_URL`` default to, so a link sent by
#: the demo works again with ``esign portal`` after the demo ended.
DEFAULT_PORT = 8080


def register(sub: Any) -> None:
    demo = sub.add_parser("demo", help="run the whole loop on the embedded defaults and print a summary")
    demo.add_argument("--deals", type=int, default=50, help="demo deals to seed (default 50)")
    demo.add_argument("--workdir", default="var", help="where runtime data goes (default var/)")
    demo.add_argument("--seed", type=int, default=7, help="random seed of the demo data and clients")
    demo.add_argument("--port", type=int, default=None,
                      help=f"the portal's port, which the links and QR codes point at (default {DEFAULT_PORT})")
    demo.add_argument("--no-serve", action="store_true",
                      help="exit after the summary instead of keeping the portal up until Ctrl-C (the links then "
                           "work again with `esign portal`)")
    demo.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from esign.demo.runner import run_demo
    from esign.demo.servers import port_is_free

    if not 1 <= args.deals <= 100_000:
        raise UsageError(f"--deals: must be from 1 to 100000 (got {args.deals})")
    project_dir = Path.cwd()
    if not (project_dir / "dags" / "esign_send.py").exists():
        raise UsageError("run esign demo from the project folder (it needs dags/, templates/ and config/)")
    if args.port is not None and not 1 <= args.port <= 65535:
        raise UsageError(f"--port: must be from 1 to 65535 (got {args.port})")
    workdir = Path(args.workdir).resolve()
    print(f"esign demo: {args.deals} deals, workdir {workdir}", flush=True)
    port = args.port if args.no_serve or args.port is not None else DEFAULT_PORT
    if port is not None and not port_is_free(port):  # checked before the workdir is reset under a running demo
        raise UsageError(f"--port: port {port} is in use (an earlier demo or `esign portal` still serving?): stop "
                         "it, or pass another --port")
    result = run_demo(args.deals, workdir, project_dir, seed=args.seed, port=port, then=_print_summary,
                      serve=not args.no_serve)
    return EXIT_OK if result.verified == len(result.completed) and result.completed else EXIT_FAIL


def _print_summary(result: Any) -> None:
    print("\nDocuments per stage (ledger):")
    for stage, count in sorted(result.stages.items()):
        print(f"  {stage:<16} {count:>6}")
    print("Deals per CRM stage:")
    for stage, count in sorted(result.crm_stages.items()):
        print(f"  {stage:<16} {count:>6}")
    print("Clients:", ", ".join(f"{k} {v}" for k, v in sorted(result.client_actions.items())))
    if result.rules_fired:
        print("Automation rules fired:", ", ".join(f"{k} {v}" for k, v in sorted(result.rules_fired.items())))
    if result.quarantine:
        print("Quarantined deals (kept aside with the reason):")
        for deal_id, reason in result.quarantine:
            print(f"  deal {deal_id}: {reason}")
    print("Steps:")
    for name, seconds, items in result.timings:
        rate = f"{items / seconds:8.1f}/s" if items and seconds else " " * 10
        print(f"  {seconds:7.1f} s {rate}  {name}")
    total = sum(seconds for _, seconds, _ in result.timings)
    print(f"  {total:7.1f} s total")
    print(f"\nCompleted PDFs verified (esign verify + pdfsig): {result.verified}/{len(result.completed)}")
    print(f"  {result.workdir / 'documents' / 'completed'}")
    print(f"  mail: {result.workdir / 'mail'}   SMS: {result.workdir / 'sms' / 'outbox.jsonl'}")
    print(f"  Airflow logs: {result.workdir / 'airflow'}")
    print("Reports:")
    for path in result.reports:
        print(f"  {path}")
    sys.stdout.flush()
