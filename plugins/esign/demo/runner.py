"""The demo's main job: seed, send through Airflow, let simulated clients sign, collect, verify, report."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from esign.demo import environment
from esign.demo.clients import act_as_clients
from esign.demo.inbox import Inbox
from esign.errors import EsignError

if TYPE_CHECKING:
    from esign.signing.tsa_server import TsaServer

Echo = Callable[[str], None]
#: The SMTP port of a demo that keeps serving (``esign mailserver``'s default), when it is free.
SMTP_PORT = 8025


@dataclass
class StepTimer:
    """Wall time and item counts per step, for the summary's documents/s."""

    rows: list[tuple[str, float, int]] = field(default_factory=list)

    @contextmanager
    def step(self, name: str, echo: Echo) -> Iterator[list[int]]:
        echo(f"==> {name}")
        counter = [0]
        start = time.perf_counter()
        yield counter
        elapsed = time.perf_counter() - start
        self.rows.append((name, elapsed, counter[0]))
        rate = f", {counter[0] / elapsed:.1f}/s" if counter[0] and elapsed > 0 else ""
        echo(f"    done in {elapsed:.1f} s ({counter[0]} items{rate})")


def run_dag_in_child(dag_id: str, conf: dict[str, object], log_path: Path, progress: Callable[[], str],
                     echo: Echo) -> None:
    """Run a DAG with ``dag.test()`` in a child process, logging to a file and echoing ledger progress."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log:
        child = subprocess.Popen([sys.executable, "-m", "esign.hooks.dag_runner", dag_id, json.dumps(conf)],
                                 stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
        last = ""
        while child.poll() is None:
            time.sleep(1.0)
            now = progress()
            if now != last:
                echo(f"    {now}")
                last = now
    if child.returncode != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise EsignError(f"Airflow run of {dag_id} failed (log: {log_path}):\n" + "\n".join(tail))


@dataclass
class DemoResult:
    workdir: Path
    stages: dict[str, int]
    crm_stages: dict[str, int]
    quarantine: list[tuple[str, str]]
    completed: list[Path]
    verified: int
    timings: list[tuple[str, float, int]]
    client_actions: dict[str, int]
    reports: list[Path]
    rules_fired: dict[str, int]


def run_demo(deals: int, workdir: Path, project_dir: Path, echo: Echo = print, seed: int = 7, *,
             port: int | None = None, then: Callable[[DemoResult], None] | None = None,
             serve: bool = False) -> DemoResult:
    """Everything ``esign demo`` does; returns what the summary prints.

    ``port``: the portal's port, so the links in the messages and certificates (``ESIGN_PUBLIC_URL``) stay valid
    after the demo (None: any free port, for a run nobody opens later). ``then`` gets the result while the local
    servers still run; with ``serve`` the portal then stays up on that port (and the mail server with it, so a
    client can still get a code) until Ctrl-C.
    """
    environment.configure(workdir, project_dir)
    environment.reset_workdir(workdir)
    logging.getLogger("traitlets").setLevel(logging.ERROR)  # notebook clients' shutdown chatter
    from esign.composition import read_settings, reset, workspace_for
    from esign.demo.servers import PortalServer, free_port, port_is_free
    from esign.dispatch.mailserver import LocalMailServer

    portal_port = port or free_port()
    mail = LocalMailServer(workdir / "mail", port=SMTP_PORT if serve and port_is_free(SMTP_PORT) else 0)
    mail.start()
    os.environ["ESIGN_SMTP_HOST"], os.environ["ESIGN_SMTP_PORT"] = "127.0.0.1", str(mail.port)
    os.environ["ESIGN_PUBLIC_URL"] = f"http://127.0.0.1:{portal_port}"
    reset()
    settings = read_settings()
    ws = workspace_for(settings)
    timer = StepTimer()
    tsa: TsaServer | None = None
    try:
        with timer.step("keys and demo data", echo) as count:
            _ensure_keys(ws, echo)
            tsa = _start_tsa(ws)
            echo(f"    demo time-stamping authority (RFC 3161) at {tsa.url}")
            from esign.crm.seed import seed_demo

            summary = seed_demo(ws.engine, deals, rng_seed=seed)
            count[0] = summary.deals
            echo(f"    seeded {summary.deals} deals ({len(summary.broken)} with broken data on purpose)")
        from esign.composition import services_for
        from esign.web import web_app

        services = services_for({"auto_approve": True})
        # every simulated client comes from 127.0.0.1: the per-IP limits would throttle them; per-link ones stay
        site = web_app(services, code_posts_per_minute=100_000, uploads_per_minute=100_000)
        with PortalServer(site, port=portal_port) as portal:
            echo(f"    portal at {portal.url}, SMTP at 127.0.0.1:{mail.port}")
            with timer.step("esign_send through Airflow (render, approve, sign, dispatch)", echo) as count:
                run_dag_in_child("esign_send", {"auto_approve": True}, workdir / "airflow" / "demo-send.log",
                                 lambda: _stage_line(ws), echo)
                count[0] = sum(ws.ledger.stage_counts().values())
            with timer.step("clients open their links and sign or decline on the portal", echo) as count:
                actions = act_as_clients(ws, services, Inbox(workdir / "mail", workdir / "sms" / "outbox.jsonl"),
                                         seed, echo)
                count[0] = sum(actions.values())
            with timer.step("esign_collect through Airflow (finalize, seal, verify, CRM)", echo) as count:
                run_dag_in_child("esign_collect", {}, workdir / "airflow" / "demo-collect.log",
                                 lambda: _stage_line(ws), echo)
                count[0] = ws.ledger.stage_counts().get("completed", 0)
        with timer.step("verify every completed PDF (esign verify + pdfsig)", echo) as count:
            completed, verified = _verify_completed(ws)
            count[0] = len(completed)
        with timer.step("reports for analysts (papermill notebooks -> HTML)", echo) as count:
            from esign.reporting import reports_for_demo

            with _stderr_to(workdir / "reports.log"):  # notebook kernels print transport warnings there
                reports = reports_for_demo(settings, None)
            count[0] = len(reports)
        result = DemoResult(workdir=workdir, stages=ws.ledger.stage_counts(), crm_stages=_crm_stages(ws),
                            quarantine=_quarantine(ws), completed=completed, verified=verified,
                            timings=timer.rows, client_actions=actions, reports=reports,
                            rules_fired=_rules_fired(ws))
        if then is not None:
            then(result)
        if serve:
            with PortalServer(web_app(services), port=portal_port) as portal:
                _serve_until_interrupted(portal.url, mail.port, workdir, echo)
    finally:
        mail.stop()
        if tsa is not None:
            tsa.stop()
    return result


def _serve_until_interrupted(url: str, smtp_port: int, workdir: Path, echo: Echo) -> None:
    """Keep the demo's portal (and SMTP server) up: the links and QR codes it sent point here."""
    echo(f"\nThe portal stays up at {url} (signing links, {url}/verify, {url}/staff); mail still goes to "
         f"127.0.0.1:{smtp_port} and is filed in {workdir / 'mail'}. Ctrl-C stops it.\n"
         f"Later, `ESIGN_HOME={workdir} esign portal --port {url.rsplit(':', 1)[1]}` serves the same links "
         f"(it reads the demo's secrets from {workdir / 'keys'}).")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        echo("portal stopped")


@contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """Send this process's (and its children's) standard error to ``path`` for the duration."""
    sys.stderr.flush()
    saved = os.dup(2)
    with path.open("ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _ensure_keys(ws, echo: Echo) -> None:  # type: ignore[no-untyped-def]
    from esign.config import key_passphrase
    from esign.signing import init_keys
    from esign.signing.tsa import TSA_P12_NAME

    if ws.settings.pkcs12_path.exists() and (ws.settings.keys_dir / TSA_P12_NAME).exists():
        return
    company = ws.company
    # demo keys from before the demo TSA existed are replaced (the demo's documents are made anew each run)
    init_keys(ws.settings.keys_dir, key_passphrase(ws.settings.variables), company_name=company.party.name,
              director_name=company.director_name, director_title=company.director_title, force=True)
    echo(f"    created the demo company CA, {company.director_name}'s certificate and the demo TSA's in "
         f"{ws.settings.keys_dir}")


def _start_tsa(ws) -> TsaServer:  # type: ignore[no-untyped-def]
    """The demo TSA over HTTP on loopback; the DAG runs (child processes) seal through it (ESIGN_TSA_URL)."""
    from esign.config import key_passphrase
    from esign.signing.tsa import TSA_P12_NAME, TimeStampAuthority, load_tsa_identity
    from esign.signing.tsa_server import TsaServer

    identity = load_tsa_identity(ws.settings.keys_dir / TSA_P12_NAME, key_passphrase(ws.settings.variables))
    server = TsaServer(TimeStampAuthority(identity)).start()
    os.environ["ESIGN_TSA_URL"] = server.url
    return server


def _stage_line(ws) -> str:  # type: ignore[no-untyped-def]
    counts = ws.ledger.stage_counts()
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "starting Airflow..."


def _verify_completed(ws) -> tuple[list[Path], int]:  # type: ignore[no-untyped-def]
    """Each completed PDF as ``esign verify`` sees it (sandboxed, exit code 0 = authentic) and as pdfsig does
    (valid, the whole file, the company CA trusted)."""
    from esign.model import Stage
    from esign.verify import verify_untrusted
    from esign.verify.poppler import pdfsig_problem

    paths = [ws.version_path("final", r.id) for r in ws.ledger.list_by_stage(Stage.COMPLETED, limit=100_000)]
    ok = 0
    for path in paths:
        verdict = verify_untrusted(path.read_bytes(), ws.ledger, ws.trust_roots)
        if verdict.exit_code == 0 and pdfsig_problem(path, ws.trust_roots) is None:
            ok += 1
    return paths, ok


def _crm_stages(ws) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Deals per stage in the embedded CRM, once the demo is over."""
    from esign.crm.local import LocalCrm

    return LocalCrm(ws.engine).stage_counts()


def _rules_fired(ws) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Automation rule firings recorded in the event log, by rule."""
    from sqlalchemy import func, select

    from esign.store.schema import events

    query = (select(events.c.detail, func.count()).where(events.c.action == "rule_fired")
             .group_by(events.c.detail))
    fired: Counter[str] = Counter()
    with ws.engine.connect() as conn:
        for detail, n in conn.execute(query):
            fired[str(detail).split(":")[0] or "?"] += int(n)
    return dict(fired)


def _quarantine(ws) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    from esign.model import Stage
    from esign.reasons import describe_reason

    t = ws.company.translator()  # people read the reasons in the company's language, as the CRM comment says them
    return [(r.deal_id, describe_reason(r.reason or "", t))
            for r in ws.ledger.list_by_stage(Stage.QUARANTINED, limit=1000)]
