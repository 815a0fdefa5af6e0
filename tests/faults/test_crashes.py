"""The crash campaign: SIGKILL the worker at every step of esign_send and esign_collect, then resume it two ways.

The worker is a child process (``tests.faults.driver``, forked from a server that imported the pipeline once)
over a SQLite ledger in tmp (PostgreSQL for the concurrent runs), with a real SMTP server in this process. After
its death the run is resumed:

- *same run id*: Airflow retries the killed task of the same run and the run goes on (same plan, same ranges);
- *new run id*: the run is gone for good and a NEW run starts (``esign_send`` with another run id, or the next
  ``esign_collect``): it must find and finish what the dead run left, with its own approval where one is missing.

Then ``esign_collect`` runs an hour later (what a dead worker left ``sending`` is stale by then), and every
invariant must hold (``harness.check_invariants``): exactly one document and one invitation per valid deal, each
delivered once; nothing left in draft or company_signed; every quarantine and stage written back; completed PDFs
verify (our verifier and poppler's pdfsig); and no CRM comment twice (each write-back is marked per document, and a
pending one looks for its comment on the deal's timeline before posting it). Documents with several signers invited
in order add a collect run killed while inviting the next signers: each is invited once, none is left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from esign.config import Settings
from esign.crm.seed import seed_demo
from esign.dispatch.mailserver import LocalMailServer
from esign.errors import UnfinishedWorkError
from esign.model import Stage
from esign.pipeline import send
from esign.pipeline.services import Services
from tests.faults import driver
from tests.faults.conftest import FaultReport
from tests.faults.harness import (
    CAMPAIGN_BROKEN,
    CAMPAIGN_DEALS,
    Findings,
    build_services,
    check_invariants,
    collect_steps,
    new_send_run,
    prepare_home,
    retry_collect,
    retry_send,
    send_steps,
    write_json,
)
from tests.pipeline.conftest import client_declines, client_signs

pytestmark = pytest.mark.faults

CHILD_TIMEOUT = 240
LATER = timedelta(hours=1)


@dataclass
class Scenario:
    """One campaign workspace: its services, its mail server and the seeded deals."""

    home: Path
    services: Services
    mail: LocalMailServer
    deal_ids: list[int]
    url: str | None

    def later(self) -> Services:
        return build_services(self.home, self.mail.port, url=self.url, outbox_clock_shift=LATER)


@dataclass
class Child:
    """A driver process and where its output goes."""

    process: Any
    log: Path


def run_child(tmp_path: Path, spec: dict[str, object], name: str = "spec") -> Child:
    """Start the driver; it runs until it kills itself (or finishes, for ``kill: none``)."""
    path = tmp_path / f"{name}.json"
    write_json(path, spec)
    log = tmp_path / f"{name}.log"
    return Child(driver.start(str(path), str(log)), log)


def finish(child: Child) -> tuple[int, str]:
    child.process.join(CHILD_TIMEOUT)
    if child.process.exitcode is None:
        child.process.kill()
        child.process.join(10)
    output = child.log.read_text(errors="replace") if child.log.exists() else ""
    return child.process.exitcode, output[-5000:]


def killed(proc: Child) -> None:
    code, output = finish(proc)
    assert code == -9, f"rc={code} (the kill point was not reached?)\n{output}"


@contextmanager
def scenario(tmp_path: Path, core_settings: Settings, channel: str = "auto",
             url: str | None = None, signers_every: int = 0) -> Iterator[Scenario]:
    """``signers_every=0``: one signer per deal (three signatures seal three documents); 1: every healthy deal has
    two client signers, two witnesses and a copy, invited in order."""
    home = tmp_path / "home"
    prepare_home(home, core_settings.keys_dir)
    with LocalMailServer(home / "mail") as mail:
        services = build_services(home, mail.port, url=url, channel=channel)
        seeded = seed_demo(services.ws.engine, CAMPAIGN_DEALS, rng_seed=11, broken=CAMPAIGN_BROKEN,
                           signers_every=signers_every)
        try:
            yield Scenario(home, services, mail, list(range(seeded.first_deal_id, seeded.last_deal_id + 1)), url)
        finally:
            if url:
                services.ws.engine.dispose()


def _progress(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None


def _loud(step: Any) -> str:
    """Run a resume step; an UnfinishedWorkError is the step failing loudly after doing its work: noted."""
    try:
        step()
    except UnfinishedWorkError as exc:
        return f"resume failed loudly ({str(exc)[:120]}); "
    return ""


def _verdict(found: Findings, report: FaultReport, chain: str, kill: str, hit: int, mode: str, note: str) -> None:
    """Record the table cell, then fail on a broken invariant (a CRM comment posted twice is one)."""
    problems = found.problems + ([f"{found.duplicate_comments} CRM comment(s) repeated"]
                                 if found.duplicate_comments else [])
    if problems:
        report.crash(chain, kill, hit, mode, "FAILED: " + "; ".join(problems)[:400])
        pytest.fail("; ".join(problems))
    report.crash(chain, kill, hit, mode, "ok: " + note + found.summary())


SEND_POINTS = [  # (kill point, which hit, channel), in the order an esign_send run reaches them
    ("batch_recorded", 2, "auto"),
    ("rendered_file", 2, "auto"),
    ("rendered_recorded", 1, "auto"),
    ("quarantined_comment", 1, "auto"),
    ("approval", 1, "auto"),
    ("company_signed_tmp", 2, "auto"),
    ("company_signed_recorded", 1, "auto"),
    ("requests_created", 1, "auto"),
    ("invites_recorded", 1, "auto"),
    ("smtp_accepted", 2, "email"),
    ("sms_accepted", 2, "sms"),
    ("sent_recorded", 1, "auto"),
    ("awaiting_comment", 2, "auto"),
    ("awaiting_moved", 2, "auto"),
]
SEND_CASES = [pytest.param(k, h, c, m, id=f"{k}-{m.replace(' ', '-')}") for k, h, c in SEND_POINTS
              for m in ("same run id", "new run id")]


@pytest.mark.parametrize(("kill", "hit", "channel", "mode"), SEND_CASES)
def test_send_killed_then_resumed(kill: str, hit: int, channel: str, mode: str, tmp_path: Path,
                                  core_settings: Settings, report: FaultReport) -> None:
    with scenario(tmp_path, core_settings, channel) as s:
        progress = tmp_path / "progress.json"
        killed(run_child(tmp_path, {"home": str(s.home), "smtp_port": s.mail.port, "channel": channel,
                                    "phase": "send", "run_id": "run-dead", "kill": kill, "hit": hit,
                                    "progress": str(progress)}))
        if mode == "same run id":
            note = _loud(lambda: retry_send(s.services, "run-dead", _progress(progress)))
        else:
            note = _loud(lambda: new_send_run(s.services, "run-next"))
        later = s.later()
        collect_steps(later)  # the next esign_collect
        found = check_invariants(later, maildir=s.home / "mail", deal_ids=s.deal_ids,
                                 expected={"sent": CAMPAIGN_DEALS - CAMPAIGN_BROKEN, "quarantined": CAMPAIGN_BROKEN})
    _verdict(found, report, "send", kill, hit, mode, note)


COLLECT_POINTS = [  # (kill point, which hit), in the order an esign_collect run reaches them
    ("sealing", 2),
    ("final_file", 2),
    ("final_recorded", 1),
    ("signed_comment", 2),
    ("signed_moved", 2),
    ("declined_comment", 1),
]
COLLECT_CASES = [pytest.param(k, h, m, id=f"{k}-{m.replace(' ', '-')}") for k, h in COLLECT_POINTS
                 for m in ("same run id", "new run id")]


def _signed_and_declined(s: Scenario) -> None:
    """A finished esign_send, then three clients sign and one declines."""
    send_steps(s.services, "run-c", send.plan_batches(s.services, "run-c"))
    sent = s.services.ws.ledger.list_by_stage(Stage.SENT)
    for record in sent[:3]:
        client_signs(s.services, record.id)
    client_declines(s.services, sent[3].id)


@pytest.mark.parametrize(("kill", "hit", "mode"), COLLECT_CASES)
def test_collect_killed_then_resumed(kill: str, hit: int, mode: str, tmp_path: Path, core_settings: Settings,
                                     report: FaultReport) -> None:
    summary = _collect_crash(kill, hit, mode, tmp_path, core_settings, None)
    _verdict(summary, report, "collect", kill, hit, mode, "")


def _collect_crash(kill: str, hit: int, mode: str, tmp_path: Path, core_settings: Settings,
                   url: str | None) -> Findings:
    with scenario(tmp_path, core_settings, url=url) as s:
        _signed_and_declined(s)
        progress = tmp_path / "progress.json"
        killed(run_child(tmp_path, {"home": str(s.home), "url": url, "smtp_port": s.mail.port, "phase": "collect",
                                    "kill": kill, "hit": hit, "progress": str(progress)}))
        if mode == "same run id":
            retry_collect(s.services, _progress(progress))  # the retried task, then the rest of that run
        else:
            collect_steps(s.later())  # the next scheduled run
        return check_invariants(s.later(), maildir=s.home / "mail", deal_ids=s.deal_ids,
                                expected={"completed": 3, "declined": 1, "quarantined": CAMPAIGN_BROKEN,
                                          "sent": CAMPAIGN_DEALS - CAMPAIGN_BROKEN - 4})


@pytest.mark.postgres
def test_collect_killed_while_sealing_on_postgresql(tmp_path: Path, core_settings: Settings,
                                                    report: FaultReport) -> None:
    """The dead worker held the document's advisory lock: PostgreSQL frees it with the session."""
    from tests.prod.postgres import throwaway_database

    with throwaway_database("esign_faults") as url:
        found = _collect_crash("sealing", 1, "new run id", tmp_path, core_settings, url)
    _verdict(found, report, "collect (PostgreSQL)", "sealing, lock holder dies", 1, "new run id", "")


def _two_runs_at_once(tmp_path: Path, s: Scenario, common: dict[str, Any],
                      run_ids: tuple[str, str]) -> tuple[Findings, str]:
    """Start two esign_send runs together, wait for both, run esign_collect an hour later, check the invariants.

    A run may fail loudly (UnfinishedWorkError, or "not approved" on a batch the other run took over before its
    approval): the note says so; anything else is a failure.
    """
    runs = [run_child(tmp_path, {**common, "run_id": run_id, "kill": "none"}, run_id) for run_id in run_ids]
    codes = [finish(proc) for proc in runs]
    loud = [output.strip().splitlines()[-1][:150] for code, output in codes if code != 0]
    assert all(code == 0 or "UnfinishedWorkError" in out or "not approved" in out for code, out in codes), codes
    note = f"{len(loud)} run(s) failed loudly ({'; '.join(loud)}); " if loud else "both runs succeeded; "
    collect_steps(s.later())
    found = check_invariants(s.later(), maildir=s.home / "mail", deal_ids=s.deal_ids,
                             expected={"sent": CAMPAIGN_DEALS - CAMPAIGN_BROKEN, "quarantined": CAMPAIGN_BROKEN})
    return found, note


@pytest.mark.postgres
def test_two_send_runs_at_once(tmp_path: Path, core_settings: Settings, report: FaultReport) -> None:
    """Two esign_send runs started together over the same deals (PostgreSQL, two worker processes)."""
    from tests.prod.postgres import throwaway_database

    with throwaway_database("esign_faults") as url, scenario(tmp_path, core_settings, url=url) as s:
        common = {"home": str(s.home), "url": url, "smtp_port": s.mail.port, "phase": "send"}
        found, note = _two_runs_at_once(tmp_path, s, common, ("run-a", "run-b"))
    _verdict(found, report, "send (PostgreSQL)", "none: two runs at once", 0, "new run id", note)


@pytest.mark.postgres
def test_two_new_runs_resume_one_dead_run_at_once(tmp_path: Path, core_settings: Settings,
                                                  report: FaultReport) -> None:
    """A run killed after signing its first batch, then two new runs started together, both taking it over."""
    from tests.prod.postgres import throwaway_database

    with throwaway_database("esign_faults") as url, scenario(tmp_path, core_settings, url=url) as s:
        common = {"home": str(s.home), "url": url, "smtp_port": s.mail.port, "phase": "send"}
        killed(run_child(tmp_path, {**common, "run_id": "run-dead", "kill": "company_signed_recorded", "hit": 1}))
        found, note = _two_runs_at_once(tmp_path, s, common, ("run-b", "run-c"))
    _verdict(found, report, "send (PostgreSQL)", "company_signed_recorded, then two new runs at once", 1,
             "new run id", note)


# -- sequential invitations: a collect run killed while inviting the next signers ---------------------------------
#: (kill point, which hit), in the order the wrap-up's invitation step reaches them: the next signers' requests
#: created, their invitations recorded (intent), the relay accepting one (the row not yet marked sent).
SEQUENTIAL_POINTS = [("requests_created", 1), ("invites_recorded", 1), ("smtp_accepted", 2)]
SEQUENTIAL_CASES = [pytest.param(k, h, m, id=f"{k}-{m.replace(' ', '-')}") for k, h in SEQUENTIAL_POINTS
                    for m in ("same run id", "new run id")]


def _first_signers_sign(s: Scenario) -> list[str]:
    """A finished esign_send over deals with four signers each (sequential, e-mail), then the first signer of
    three documents signs: their second signers are owed an invitation."""
    send_steps(s.services, "run-c", send.plan_batches(s.services, "run-c"))
    several = [r for r in s.services.ws.ledger.list_by_stage(Stage.SENT) if len([p for p in r.signers if p.signs]) == 4]
    assert len(several) >= 3, several
    for record in several[:3]:
        client_signs(s.services, record.id, record.signer(1).name)
    return [r.id for r in several[:3]]


@pytest.mark.parametrize(("kill", "hit", "mode"), SEQUENTIAL_CASES)
def test_collect_killed_while_inviting_the_next_signers(kill: str, hit: int, mode: str, tmp_path: Path,
                                                        core_settings: Settings, report: FaultReport) -> None:
    with scenario(tmp_path, core_settings, channel="email", signers_every=1) as s:
        owed = _first_signers_sign(s)
        progress = tmp_path / "progress.json"
        killed(run_child(tmp_path, {"home": str(s.home), "smtp_port": s.mail.port, "channel": "email",
                                    "phase": "collect", "kill": kill, "hit": hit, "progress": str(progress)}))
        if mode == "same run id":
            retry_collect(s.services, _progress(progress))
        else:
            collect_steps(s.later())
        later = s.later()
        collect_steps(later)  # and the run after: nothing more may go out
        found = check_invariants(later, maildir=s.home / "mail", deal_ids=s.deal_ids,
                                 expected={"sent": CAMPAIGN_DEALS - CAMPAIGN_BROKEN, "quarantined": CAMPAIGN_BROKEN})
        current = later.requests.current_for_documents(owed)
        for document_id in owed:  # liveness: every second signer owed an invitation holds one, delivered or in doubt
            second = current[document_id].get(2)
            entry = later.outbox.get_by_key(f"invite:{second.id}") if second is not None else None
            if entry is None or str(entry.state) not in ("sent", "uncertain"):
                found.problems.append(f"{document_id}: the second signer's invitation is "
                                      f"{'missing' if entry is None else entry.state}")
            if set(current[document_id]) != {1, 2}:
                found.problems.append(f"{document_id}: requests for signers {sorted(current[document_id])}")
    _verdict(found, report, "collect (sequential signers)", kill, hit, mode, "")
