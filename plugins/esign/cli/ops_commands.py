"""Operations: ``esign status``, ``esign portal``, ``esign mailserver``, ``esign run``."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from esign.cli import EXIT_FAIL, EXIT_OK, UsageError
from esign.model import Stage
from esign.workspace import workspace_for


def register(sub: Any) -> None:
    status = sub.add_parser("status", help="documents per stage, pending age, last runs")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=show_status)

    portal = sub.add_parser("portal", help="serve the clients' signing pages, the verification page and /staff")
    portal.add_argument("--host", default="127.0.0.1")
    portal.add_argument("--port", type=int, default=8080)
    portal.set_defaults(handler=serve_portal)

    mail = sub.add_parser("mailserver", help="a local SMTP server that files every message as .eml (demo/staging)")
    mail.add_argument("--port", type=int, default=8025)
    mail.set_defaults(handler=serve_mail)

    run = sub.add_parser("run", help="run a DAG once in-process (no scheduler): esign_send, esign_collect, ...")
    run.add_argument("dag_id")
    run.add_argument("--conf", default="{}", help="the run's params as JSON, e.g. '{\"max_deals\": 100}'")
    run.set_defaults(handler=run_dag)


def status_data() -> dict[str, Any]:
    """What ``esign status --json`` prints."""
    from esign.pipeline.schema import batches
    from esign.store.schema import documents

    ws = workspace_for()
    now = datetime.now(UTC)
    open_stages = [Stage.SENT.value, Stage.VIEWED.value]
    with ws.engine.connect() as conn:
        oldest = conn.execute(select(func.min(documents.c.updated_at))
                              .where(documents.c.stage.in_(open_stages))).scalar()
        runs = conn.execute(select(batches.c.run_id, func.count(), func.sum(batches.c.planned),
                                   func.min(batches.c.created_at), func.max(batches.c.approved_by))
                            .group_by(batches.c.run_id).order_by(func.min(batches.c.created_at).desc()).limit(5))
        last_runs = [{"run_id": r[0], "batches": int(r[1]), "deals": int(r[2] or 0),
                      "started_at": r[3].isoformat() if r[3] else None, "approved_by": r[4]} for r in runs]
    pending_age = None
    if oldest is not None:
        oldest = oldest.replace(tzinfo=UTC) if oldest.tzinfo is None else oldest
        pending_age = round((now - oldest).total_seconds() / 86400, 2)
    return {"stages": ws.ledger.stage_counts(), "oldest_pending_days": pending_age, "last_runs": last_runs}


def show_status(args: argparse.Namespace) -> int:
    data = status_data()
    if args.json:
        print(json.dumps(data, indent=2))
        return EXIT_OK
    print("Documents per stage:")
    for stage in Stage:
        if data["stages"].get(stage.value):
            print(f"  {stage.value:<16} {data['stages'][stage.value]:>7}")
    if not data["stages"]:
        print("  (no documents yet)")
    if data["oldest_pending_days"] is not None:
        print(f"Oldest pending signature: {data['oldest_pending_days']} days")
    for run in data["last_runs"]:
        print(f"Run {run['run_id']}: {run['deals']} deals in {run['batches']} batches, "
              f"approved by {run['approved_by'] or '-'}")
    return EXIT_OK


def serve_portal(args: argparse.Namespace) -> int:
    import uvicorn

    from esign.pipeline.services import services_for
    from esign.pipeline.web import web_app
    from esign.portal.security import SERVER_OPTIONS

    uvicorn.run(web_app(services_for()), host=args.host, port=args.port, log_level="info", **SERVER_OPTIONS)
    return EXIT_OK


def serve_mail(args: argparse.Namespace) -> int:
    from esign.dispatch.mailserver import LocalMailServer

    maildir = workspace_for().settings.workdir / "mail"
    with LocalMailServer(maildir, port=args.port) as server:
        print(f"SMTP on 127.0.0.1:{server.port}, filing messages in {maildir} (Ctrl-C stops)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return EXIT_OK


def run_dag(args: argparse.Namespace) -> int:
    try:
        json.loads(args.conf)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--conf: not valid JSON ({exc})") from exc
    env = dict(os.environ)
    settings = workspace_for().settings
    env.setdefault("AIRFLOW_HOME", str(settings.workdir / "airflow"))
    env.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(settings.templates_dir.parent / "dags"))
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    code = subprocess.call([sys.executable, "-m", "esign.hooks.dag_runner", args.dag_id, args.conf], env=env)
    return EXIT_OK if code == 0 else EXIT_FAIL
