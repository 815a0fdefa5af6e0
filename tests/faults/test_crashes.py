"""Kill the worker (SIGKILL, not an exception) at each step of the send and collect chains, then run again.

The worker is a child process (``python -m tests.faults.driver``) over a SQLite ledger in tmp (one scenario on
PostgreSQL) with a real SMTP server in this process. After its death the DAGs' recovery path runs here: the
retried tasks, then esign_collect as the next scheduled run would (an hour later, so rows a dead worker left
``sending`` are stale). Then every invariant of the design must hold (see ``harness.check_invariants``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from esign.config import Settings
from esign.crm.seed import seed_demo
from esign.dispatch.mailserver import LocalMailServer
from esign.model import Stage
from esign.pipeline import send
from esign.pipeline.services import Services
from tests.faults.conftest import FaultReport
from tests.faults.harness import (
    DEALS,
    build_services,
    check_invariants,
    collect_steps,
    prepare_home,
    send_steps,
    write_json,
)
from tests.pipeline.conftest import client_declines, client_signs
from tests.support import PROJECT_DIR

pytestmark = pytest.mark.faults

CHILD_TIMEOUT = 240


def run_child(tmp_path: Path, spec: dict[str, object]) -> subprocess.CompletedProcess[str]:
    """Run the driver until it kills itself; its output is kept for the failure message."""
    path = tmp_path / "spec.json"
    write_json(path, spec)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(PROJECT_DIR)])))
    return subprocess.run([sys.executable, "-m", "tests.faults.driver", str(path)], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=False)


def _assert_killed(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == -9, f"rc={proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"


def _setup(home: Path, core_settings: Settings, port: int, url: str | None, channel: str) -> Services:
    prepare_home(home, core_settings.keys_dir)
    services = build_services(home, port, url=url, channel=channel)
    seed_demo(services.ws.engine, DEALS, rng_seed=11, broken=0)
    return services


SEND_POINTS = [  # (kill point, which hit, channel)
    ("rendered_file", 2, "auto"),
    ("company_signed_tmp", 2, "auto"),
    ("company_signed_recorded", 1, "auto"),  # batch 1 signed and moved, nothing sent
    ("smtp_accepted", 2, "email"),
    ("sms_accepted", 2, "sms"),
    ("crm_comment", 2, "auto"),
]


@pytest.mark.parametrize(("kill", "hit", "channel"), SEND_POINTS, ids=[p[0] for p in SEND_POINTS])
def test_send_chain_survives_a_kill(kill: str, hit: int, channel: str, tmp_path: Path, core_settings: Settings,
                                    report: FaultReport) -> None:
    home = tmp_path / "home"
    with LocalMailServer(home / "mail") as mail:
        services = _setup(home, core_settings, mail.port, None, channel)
        batches = send.plan_batches(services, "run-k")
        proc = run_child(tmp_path, {"home": str(home), "smtp_port": mail.port, "channel": channel,
                                    "phase": "send", "run_id": "run-k", "batches": batches, "kill": kill,
                                    "hit": hit})
        _assert_killed(proc)
        send_steps(services, "run-k", batches)  # Airflow retries the tasks of the run
        later = build_services(home, mail.port, channel=channel, outbox_clock_shift=timedelta(hours=1))
        collect_steps(later)  # the next esign_collect
        found = check_invariants(later, maildir=home / "mail", expected={"sent": DEALS})
    assert not found.problems, found.problems
    report.add("crash", f"send: SIGKILL at {kill} (hit {hit}, {channel})", "ok: " + found.summary())


COLLECT_POINTS = [
    ("sealing", 2),
    ("final_file", 2),  # the first sealed file written and not recorded (a group is recorded together)
    ("final_recorded", 1),
    ("crm_comment", 2),
]


def _collect_crash(kill: str, hit: int, tmp_path: Path, core_settings: Settings, url: str | None) -> str:
    home = tmp_path / "home"
    with LocalMailServer(home / "mail") as mail:
        services = _setup(home, core_settings, mail.port, url, "auto")
        send_steps(services, "run-c", send.plan_batches(services, "run-c"))
        sent = services.ws.ledger.list_by_stage(Stage.SENT)
        for record in sent[:3]:
            client_signs(services, record.id)
        client_declines(services, sent[3].id)
        proc = run_child(tmp_path, {"home": str(home), "url": url, "smtp_port": mail.port, "phase": "collect",
                                    "kill": kill, "hit": hit})
        _assert_killed(proc)
        collect_steps(services)  # the retried task
        later = build_services(home, mail.port, url=url, outbox_clock_shift=timedelta(hours=1))
        collect_steps(later)
        found = check_invariants(later, maildir=home / "mail",
                                 expected={"completed": 3, "declined": 1, "sent": DEALS - 4})
        if url:
            services.ws.engine.dispose()
    assert not found.problems, found.problems
    return found.summary()


@pytest.mark.parametrize(("kill", "hit"), COLLECT_POINTS, ids=[p[0] for p in COLLECT_POINTS])
def test_collect_chain_survives_a_kill(kill: str, hit: int, tmp_path: Path, core_settings: Settings,
                                       report: FaultReport) -> None:
    summary = _collect_crash(kill, hit, tmp_path, core_settings, None)
    report.add("crash", f"collect: SIGKILL at {kill} (hit {hit})", "ok: " + summary)


@pytest.mark.postgres
def test_collect_killed_while_sealing_on_postgresql(tmp_path: Path, core_settings: Settings,
                                                    report: FaultReport) -> None:
    """The dead worker held the document's advisory lock: PostgreSQL frees it with the session."""
    from tests.prod.postgres import throwaway_database

    with throwaway_database("esign_faults") as url:
        summary = _collect_crash("sealing", 1, tmp_path, core_settings, url)
    report.add("crash", "collect on PostgreSQL: SIGKILL while sealing (lock holder dies)", "ok: " + summary)
