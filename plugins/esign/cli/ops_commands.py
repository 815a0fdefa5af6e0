"""Operations: ``esign status``, ``esign portal``, ``esign mailserver``, ``esign run``."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from esign.cli import EXIT_FAIL, EXIT_OK, UsageError
from esign.composition import workspace_for
from esign.i18n import Translator
from esign.model import Stage
from esign.model.labels import stage_label

if TYPE_CHECKING:
    from esign.pipeline.stuck import StuckDocument, StuckReport


def register(sub: Any) -> None:
    status = sub.add_parser("status", help="documents per stage, stuck documents, pending age, last runs "
                                           "(exit 1 when a document is stuck)")
    status.add_argument("--json", action="store_true")
    add_stuck_after(status)
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


def add_stuck_after(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stuck-after", type=int, metavar="MINUTES", default=None,
                        help="a document owing work for longer than this is stuck (default: stuck_after_minutes "
                             "of config/pipeline.yaml, 60)")


def stuck_report(minutes: int | None, limit: int = 20) -> StuckReport:
    """The stuck documents past ``minutes`` (None: the pipeline configuration's ``stuck_after_minutes``)."""
    from esign.pipeline.config import load_pipeline_config
    from esign.pipeline.stuck import stuck_documents

    ws = workspace_for()
    if minutes is None:
        minutes = load_pipeline_config(ws.settings.pipeline_file).stuck_after_minutes
    if minutes < 1:
        raise UsageError(f"--stuck-after: must be at least 1 minute (got {minutes})")
    return stuck_documents(ws.engine, timedelta(minutes=minutes), limit=limit)


def stuck_lines(report: StuckReport, t: Translator | None = None) -> list[str]:
    """The stuck documents for people: one line each, oldest first, and how many more there are (in the company's
    language)."""
    t = t or workspace_for().company.translator()
    lines = [_describe(d, t) for d in report.listed]
    if report.total > len(report.listed):
        lines.append(t.gettext("... and {count} more").format(count=report.total - len(report.listed)))
    return lines


def _describe(document: StuckDocument, t: Translator) -> str:
    if document.owed == "company_signature":
        what = (t.gettext("the company signature") if document.approved
                else t.gettext("the company signature (approval first)"))
    elif document.owed == "invitation":
        what = t.gettext("its invitation")
    elif document.owed == "sealing":
        what = t.gettext("sealing")
    elif document.owed == "next_invitation":
        what = t.gettext("the next signers' invitation")
    else:
        what = t.gettext("the CRM write-back ({target})").format(target=document.owed.removeprefix("crm_"))
    return t.gettext("{document}  deal {deal}  {stage}  waits for {what} for {age}").format(
        document=document.document_id, deal=document.deal_id, stage=stage_label(Stage(document.stage), t),
        what=what, age=_age(document.age, t))


def _age(age: timedelta, t: Translator) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 120:
        return t.gettext("{minutes} min").format(minutes=minutes)
    if minutes < 48 * 60:
        return t.gettext("{hours} h {minutes:02d} min").format(hours=minutes // 60, minutes=minutes % 60)
    return t.gettext("{days} days {hours} h").format(days=minutes // (24 * 60), hours=minutes // 60 % 24)


def status_data(stuck: StuckReport | None = None) -> dict[str, Any]:
    """What ``esign status --json`` prints (``stuck``: the stuck documents, by default past the configured age)."""
    from esign.pipeline.schema import batches
    from esign.pipeline.writeback import gone_count
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
    return {"stages": ws.ledger.stage_counts(), "oldest_pending_days": pending_age, "last_runs": last_runs,
            "crm_gone": gone_count(ws.engine), "stuck": (stuck or stuck_report(None)).to_dict(),
            "crm_paused_methods": paused_methods(now)}


def paused_methods(now: datetime) -> list[dict[str, Any]]:
    """CRM methods still paused by the portal's method time limit (work using them waits until ``until``)."""
    from esign.crm.method_pauses import MethodPauseStore

    return [{"portal": p.portal, "method": p.method, "until": p.until.isoformat(), "operating_s": p.operating,
             "minutes_left": p.remaining_minutes(now)} for p in MethodPauseStore(workspace_for().engine).active(now)]


def paused_lines(paused: list[dict[str, Any]]) -> list[str]:
    """The paused methods for people, in the company's language and time zone."""
    if not paused:
        return []
    t = workspace_for().company.translator()
    lines = [t.gettext("CRM methods paused by the portal's time limit (work using them waits):")]
    for pause in paused:
        lines.append("  " + t.ngettext(
            "%(method)s on %(portal)s: until %(until)s (%(minutes)d minute left)",
            "%(method)s on %(portal)s: until %(until)s (%(minutes)d minutes left)", pause["minutes_left"]) % {
                "method": pause["method"], "portal": pause["portal"], "minutes": pause["minutes_left"],
                "until": t.format_datetime(datetime.fromisoformat(pause["until"]))})
    return lines


def show_status(args: argparse.Namespace) -> int:
    """Exit 1 when a document is stuck (owes work for longer than the threshold), so a cron job can alert."""
    report = stuck_report(args.stuck_after)
    data = status_data(report)
    stuck = data["stuck"]
    code = EXIT_FAIL if stuck["total"] else EXIT_OK
    if args.json:
        print(json.dumps(data, indent=2))
        return code
    t = workspace_for().company.translator()
    print(t.gettext("Documents per stage:"))
    for stage in Stage:
        if data["stages"].get(stage.value):
            print(f"  {stage_label(stage, t):<24} {data['stages'][stage.value]:>7}")
    if not data["stages"]:
        print("  " + t.gettext("(no documents yet)"))
    if data["oldest_pending_days"] is not None:
        print(t.gettext("Oldest pending signature: {days} days").format(
            days=t.format_number(data["oldest_pending_days"], decimals=2)))
    if data["crm_gone"]:
        print(t.gettext("CRM write-backs ended, the deal was deleted in the CRM: {count}").format(
            count=data["crm_gone"]))
    for run in data["last_runs"]:
        print(t.gettext("Run {run}: {deals} deals in {batches} batches, approved by {approver}").format(
            run=run["run_id"], deals=run["deals"], batches=run["batches"], approver=run["approved_by"] or "-"))
    if stuck["total"]:
        print(t.gettext("Stuck documents (owing work for more than {minutes} min): {count}").format(
            minutes=stuck["threshold_minutes"], count=stuck["total"]))
        for line in stuck_lines(report, t):
            print(f"  {line}")
    else:
        print(t.gettext("Stuck documents: none (threshold {minutes} min)").format(minutes=stuck["threshold_minutes"]))
    for line in paused_lines(data["crm_paused_methods"]):
        print(line)
    return code


def serve_portal(args: argparse.Namespace) -> int:
    import uvicorn

    from esign.composition import services_for
    from esign.portal.security import SERVER_OPTIONS
    from esign.web import web_app

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
