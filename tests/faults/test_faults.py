"""Faults instead of crashes: SMTP down, slow or refusing one address; the CRM answering 503/429/500 or timing
out; the database locked or its backends killed; the disk full while writing a PDF; keys that cannot be used.
Each ends in a retry that succeeds, or a clear error for that document or batch, with nothing else lost: the
same invariants as the crash campaign (``harness.check_invariants``) hold at the end of every scenario."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import create_engine, event, text

from esign.company import load_company
from esign.config import Settings
from esign.crm.bitrix24 import Bitrix24Crm, Bitrix24Settings, WebhookUrl
from esign.crm.seed import seed_demo
from esign.dispatch.mailserver import LocalMailServer, MaildirHandler
from esign.errors import KeysError, UnfinishedWorkError
from esign.model import Stage
from esign.pipeline import send
from esign.pipeline.services import Services
from esign.signing import init_keys
from esign.store.bulk import BulkLedger
from tests.crm.bitrix24.conftest import fill, make_portal
from tests.crm.bitrix24.fake_portal import Running
from tests.faults.conftest import FaultReport
from tests.faults.harness import DEALS, build_services, check_invariants, collect_steps, prepare_home, send_steps
from tests.pipeline.conftest import client_declines, client_signs
from tests.support import TEST_PASSPHRASE

pytestmark = pytest.mark.faults

LATER = timedelta(hours=1)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


@contextlib.contextmanager
def pipeline(tmp_path: Path, core_settings: Settings, *, handler: MaildirHandler | None = None,
             url: str | None = None, **kw: object) -> Iterator[tuple[Services, LocalMailServer, Path]]:
    home = tmp_path / "home"
    prepare_home(home, core_settings.keys_dir)
    with LocalMailServer(home / "mail", handler=handler) as mail:
        services = build_services(home, mail.port, url=url, **kw)  # type: ignore[arg-type]
        seed_demo(services.ws.engine, DEALS, rng_seed=11, broken=0, signers_every=0)  # one signer per deal
        yield services, mail, home


def later(services: Services, mail: LocalMailServer, home: Path, url: str | None = None) -> Services:
    return build_services(home, mail.port, url=url, outbox_clock_shift=LATER)


# -- SMTP ------------------------------------------------------------------------------------------------
def test_smtp_down_during_send_then_back(tmp_path: Path, core_settings: Settings, report: FaultReport) -> None:
    with pipeline(tmp_path, core_settings, channel="email") as (services, mail, home):
        batches = send.plan_batches(services, "run-d")
        for batch in batches:
            send.prepare_batch(services, batch)
        send.approve_run(services, "run-d", "fault-campaign")
        mail.stop()
        for batch in batches:  # each deliver task fails loudly (ops e-mail) after signing and recording its intents
            with pytest.raises(UnfinishedWorkError, match="invitation did not go out"):
                send.deliver_batch(services, batch)
        assert services.ws.ledger.stage_counts() == {"company_signed": DEALS}, "nothing sent, nothing failed"
        with pytest.raises(UnfinishedWorkError, match=r"message\(s\) still pending"):
            collect_steps(services)  # still down: esign_collect says so too
        mail.start()
        collect_steps(services)  # back: one esign_collect delivers first, then moves the deals to "awaiting"
        found = check_invariants(services, maildir=home / "mail", expected={"sent": DEALS})
    assert not found.problems, found.problems
    report.add("fault", "SMTP server down during esign_send, back before esign_collect",
               "deliver tasks and the collect run in the outage failed loudly; the first collect after it delivered "
               "and wrote back in the same run: " + found.summary())


class SlowFirstMessage(MaildirHandler):
    """Stores the first message, then holds its "250" until released: the client times out waiting for it."""

    def __init__(self, maildir: Path) -> None:
        super().__init__(maildir)
        self.release = threading.Event()
        self.first = True

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        status = await super().handle_DATA(server, session, envelope)
        if self.first:
            self.first = False
            while not self.release.is_set():  # the client gives up after its 1 s timeout and hangs up
                await asyncio.sleep(0.01)
        return status


def test_smtp_slower_than_the_client_timeout(tmp_path: Path, core_settings: Settings, report: FaultReport) -> None:
    handler = SlowFirstMessage(tmp_path / "home" / "mail")
    with pipeline(tmp_path, core_settings, handler=handler, channel="email", smtp_timeout=1.0) as (
            services, mail, home):
        try:
            send_steps(services, "run-s", send.plan_batches(services, "run-s"))
        finally:
            handler.release.set()
        collect_steps(later(services, mail, home))
        found = check_invariants(services, maildir=home / "mail", expected={"sent": DEALS})
    assert found.uncertain >= 1 and not found.problems, found  # more only if the loaded machine is slower still
    report.add("fault", "SMTP answer slower than the client timeout (first message)",
               "uncertain, never re-sent, delivered once: " + found.summary())


class RefuseOne(MaildirHandler):
    """550 for the first recipient seen (a mailbox that does not exist)."""

    def __init__(self, maildir: Path) -> None:
        super().__init__(maildir)
        self.refused: str | None = None

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        if self.refused in (None, address):
            self.refused = address
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_smtp_refuses_one_recipient(tmp_path: Path, core_settings: Settings, report: FaultReport) -> None:
    handler = RefuseOne(tmp_path / "home" / "mail")
    with pipeline(tmp_path, core_settings, handler=handler, channel="email") as (services, mail, home):
        send_steps(services, "run-r", send.plan_batches(services, "run-r"))
        collect_steps(later(services, mail, home))
        failed = services.ws.ledger.list_by_stage(Stage.FAILED)  # every deal with that address (some share one)
        found = check_invariants(services, maildir=home / "mail",
                                 expected={"sent": DEALS - len(failed), "failed": len(failed)})
    assert not found.problems, found.problems
    assert failed and all(f.reason and "550" in f.reason and f.counterparty_email == handler.refused for f in failed)
    report.add("fault", "SMTP 550 for one recipient address",
               f"its {len(failed)} document(s) failed with the reason ('{failed[0].reason[:50]}...'), deals moved "
               "to the failed stage, the rest sent: " + found.summary())


# -- CRM (the fake Bitrix24 portal) ---------------------------------------------------------------------
def test_bitrix24_errors_and_timeouts_during_the_write_backs(tmp_path: Path, core_settings: Settings,
                                                             report: FaultReport) -> None:
    portal = make_portal()
    deal_ids = fill(portal, DEALS, other_every=0)
    server = Running(portal)
    hold = threading.Event()
    held: list[str] = []
    real_handle = portal.handle

    def slow_first_update(path: str, raw: bytes) -> tuple[int, object]:
        answer = real_handle(path, raw)
        moves = path.endswith("/batch") and b"crm.deal.update" in raw  # stage moves go 50 to a batch
        if moves and not held:  # applied, but the answer comes after the timeout
            held.append(path)
            hold.wait(60)
        return answer

    home = tmp_path / "home"
    prepare_home(home, core_settings.keys_dir)
    try:
        with LocalMailServer(home / "mail") as mail:
            services = build_services(home, mail.port, crm="bitrix24")
            settings = Bitrix24Settings(WebhookUrl.parse(server.webhook(portal)), timeout=2.0, backoff_base=0.01,
                                        backoff_cap=0.05, burst=1000, rate=1000.0)
            services.crm = Bitrix24Crm(settings)  # type: ignore[misc]
            batches = send.plan_batches(services, "run-b")
            for batch in batches:
                send.prepare_batch(services, batch)
            send.approve_run(services, "run-b", "fault-campaign")
            for batch in batches:
                send.sign_batch(services, batch)
                send.dispatch_batch(services, batch)
            # the write-backs meet a rate limit (503 and a proxy's bare 429), a 500, and a read timeout
            portal.scripted = [(503, {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}),
                               (429, {}), (500, {"error": "INTERNAL_SERVER_ERROR", "error_description": "boom"})]
            portal.handle = slow_first_update  # type: ignore[method-assign]
            counts = [send.mark_awaiting(services, batch) for batch in batches]
            hold.set()
            assert held, "the slow update happened"
            assert sum(c.get("crm_errors", 0) for c in counts) >= 1, counts  # the 500 on a comment: not repeated
            sent = services.ws.ledger.list_by_stage(Stage.SENT)
            client_signs(services, sent[0].id)
            client_declines(services, sent[1].id)
            portal.scripted = [(503, {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "x"})] * 2
            collect_steps(services)  # retries what is left: the "awaiting" write-back, signed, declined
            found = check_invariants(
                services, maildir=home / "mail", expected={"sent": DEALS - 2, "completed": 1, "declined": 1},
                crm_stage=lambda deal: portal.deals[deal]["STAGE_ID"],
                crm_comments={d: [str(c["text"]) for c in portal.comments if c["deal_id"] == d] for d in deal_ids})
    finally:
        hold.set()
        server.stop()
    assert not found.problems, found.problems
    assert not found.duplicate_comments, found.duplicate_comments
    report.add("fault", "Bitrix24 503 + 429 + 500 + a read timeout during the write-backs",
               "503/429 retried with backoff, timeout on an idempotent update retried, 500 on a comment not "
               "repeated blindly and finished by esign_collect: " + found.summary())


# -- the database ----------------------------------------------------------------------------------------
def _in_the_driver(thread_id: int) -> bool:
    """Whether the thread is inside a DBAPI execute (SQLAlchemy's ``do_execute``: the C call has no frame)."""
    frame = sys._current_frames().get(thread_id)
    return frame is not None and frame.f_code.co_name in ("do_execute", "do_executemany")


def test_sqlite_locked_by_another_connection(tmp_path: Path, core_settings: Settings, report: FaultReport) -> None:
    with pipeline(tmp_path, core_settings) as (services, mail, home):
        batches = send.plan_batches(services, "run-l")
        engine = services.ws.engine
        db = services.ws.settings.database_url.removeprefix("sqlite:///")
        import sqlite3

        holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN EXCLUSIVE")  # in WAL mode: nobody else may write until it ends
        writer: list[int] = []  # the thread of the step's first write, whatever function issues it
        order: list[str] = []

        def before_cursor_execute(_conn: object, _cursor: object, statement: str, *_: object) -> None:
            if not writer and statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
                writer.append(threading.get_ident())
                order.append("write issued")

        def release() -> None:
            # the step's first write is inside the driver while the lock is held: it waits on it (busy timeout)
            wait_for(lambda: bool(writer) and _in_the_driver(writer[0]), 60, "the step's first write")
            order.append("lock released")
            holder.execute("COMMIT")

        event.listen(engine, "before_cursor_execute", before_cursor_execute)
        releaser = threading.Thread(target=release)
        releaser.start()
        try:
            send_steps(services, "run-l", batches)
        finally:
            event.remove(engine, "before_cursor_execute", before_cursor_execute)
            releaser.join(60)
            if holder.in_transaction:
                holder.execute("ROLLBACK")
            holder.close()
        assert order == ["write issued", "lock released"]
        collect_steps(later(services, mail, home))
        found = check_invariants(services, maildir=home / "mail", expected={"sent": DEALS})
    assert not found.problems, found.problems
    report.add("fault", "SQLite: another connection holds an exclusive lock mid-batch",
               "the step's first write waits on the lock (busy timeout) and goes on once it is released: "
               + found.summary())


@pytest.mark.postgres
def test_postgresql_backends_terminated_mid_batch(tmp_path: Path, core_settings: Settings,
                                                  report: FaultReport) -> None:
    from tests.prod.postgres import ADMIN_URL, throwaway_database

    with throwaway_database("esign_faults") as url:
        name = url.rsplit("/", 1)[1]
        admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        terminated: list[int] = []
        real_record = BulkLedger.record_files

        def record_files(self: BulkLedger, *args: object, **kw: object) -> object:
            result = real_record(self, *args, **kw)  # type: ignore[arg-type]
            if len(terminated) < 2:  # "restart": every connection of the ledger database dies, twice
                with admin.connect() as conn:
                    killed = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                               "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": name})
                    terminated.append(int(killed.scalar_one()))
            return result

        errors: list[str] = []
        with pipeline(tmp_path, core_settings, url=url) as (services, mail, home):
            batches = send.plan_batches(services, "run-p")
            BulkLedger.record_files = record_files  # type: ignore[method-assign]
            try:
                for _attempt in range(3):  # Airflow's retries of the failed task
                    try:
                        send_steps(services, "run-p", batches)
                        break
                    except Exception as exc:  # the task fails; Airflow retries it
                        errors.append(type(exc).__name__)
            finally:
                BulkLedger.record_files = real_record  # type: ignore[method-assign]
            collect_steps(later(services, mail, home, url))
            found = check_invariants(services, maildir=home / "mail", expected={"sent": DEALS})
            services.ws.engine.dispose()
        admin.dispose()
    assert sum(terminated) >= 1 and not found.problems, (terminated, found.problems)
    report.add("fault", "PostgreSQL: pg_terminate_backend of every ledger connection, twice mid-batch",
               f"{len(errors)} task failure(s) then retries ({', '.join(errors) or 'pool pre-ping reconnected'}): "
               + found.summary())


# -- the disk --------------------------------------------------------------------------------------------
def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, check=False).returncode == 0


def test_disk_full_while_writing_pdfs(tmp_path: Path, core_settings: Settings, report: FaultReport) -> None:
    docs = tmp_path / "home" / "documents"
    if not _mount_tmpfs(docs, "128k"):  # room for two rendered PDFs (~52 kB each), not six
        pytest.skip("cannot mount a size-limited tmpfs here (needs root)")
    try:
        with pipeline(tmp_path, core_settings) as (services, mail, home):
            batches = send.plan_batches(services, "run-f")
            prepared = [send.prepare_batch(services, b) for b in batches]
            errors = sum(c.get("errors", 0) for c in prepared)
            assert errors >= 1 and not list(docs.rglob("*.tmp")), (prepared, list(docs.rglob("*")))
            with pytest.raises(OSError, match="No space left"):
                send_steps(services, "run-f", batches)  # company-signing hits the full disk: the task fails
            failed = [(r.id, r.reason) for r in services.ws.ledger.list_by_stage(Stage.FAILED)]
            assert failed == [], failed  # an unrendered draft waits for the re-run of prepare, it is not failed
            subprocess.run(["mount", "-o", "remount,size=8m", str(docs)], check=True)  # the operator frees space
            send_steps(services, "run-f", batches)
            collect_steps(later(services, mail, home))
            found = check_invariants(services, maildir=home / "mail", expected={"sent": DEALS})
    finally:
        subprocess.run(["umount", "-l", str(docs)], check=False)
    assert not found.problems, found.problems
    report.add("fault", "disk full (128 kB tmpfs) while rendering and company-signing",
               f"{errors} render error(s) counted, signing task failed with ENOSPC, no .tmp left, "
               "retry after remount: " + found.summary())


# -- keys ------------------------------------------------------------------------------------------------
def _signed_and_waiting(services: Services) -> None:
    send_steps(services, "run-k", send.plan_batches(services, "run-k"))
    for record in services.ws.ledger.list_by_stage(Stage.SENT)[:2]:
        client_signs(services, record.id)


def test_wrong_passphrase_while_finalizing(tmp_path: Path, core_settings: Settings, report: FaultReport) -> None:
    with pipeline(tmp_path, core_settings) as (services, mail, home):
        _signed_and_waiting(services)
        wrong = build_services(home, mail.port, passphrase=b"not-the-passphrase")
        with pytest.raises(KeysError, match="wrong passphrase"):
            collect_steps(wrong)
        assert services.ws.ledger.stage_counts().get("client_signed") == 2, "no signed document failed"
        collect_steps(later(services, mail, home))
        found = check_invariants(services, maildir=home / "mail", expected={"sent": DEALS - 2, "completed": 2})
    assert not found.problems, found.problems
    report.add("fault", "key with the wrong passphrase during esign_collect",
               "KeysError stops the finalize task, client-signed documents untouched, retry with the right "
               "key completes them: " + found.summary())


def test_expired_certificate_while_finalizing(tmp_path: Path, core_settings: Settings,
                                              report: FaultReport) -> None:
    with pipeline(tmp_path, core_settings) as (services, mail, home):
        _signed_and_waiting(services)
        expired_home = tmp_path / "expired"
        shutil.copytree(home, expired_home, ignore=shutil.ignore_patterns("keys"))
        company = load_company(services.ws.settings.company_file)
        init_keys(expired_home / "keys", TEST_PASSPHRASE, company_name=company.party.name,
                  director_name=company.director_name, director_title=company.director_title, valid_days=1,
                  now=datetime.now(UTC) - timedelta(days=30))
        with pytest.raises(KeysError, match="has expired"):
            collect_steps(build_services(expired_home, mail.port))
        stages = build_services(expired_home, mail.port).ws.ledger.stage_counts()
        assert stages.get("client_signed") == 2 and "failed" not in stages, stages
        report.add("fault", "expired signing certificate during esign_collect",
                   f"KeysError ('has expired') stops the finalize task; documents stay {stages}")


def test_wrong_passphrase_while_company_signing(tmp_path: Path, core_settings: Settings,
                                                report: FaultReport) -> None:
    with pipeline(tmp_path, core_settings) as (services, mail, home):
        batches = send.plan_batches(services, "run-w")
        wrong = build_services(home, mail.port, passphrase=b"not-the-passphrase")
        with pytest.raises(KeysError):
            send_steps(wrong, "run-w", batches)
        assert services.ws.ledger.stage_counts() == {"draft": DEALS}
        send_steps(services, "run-w", batches)  # the task's retry, once the key is fixed
        assert services.ws.ledger.stage_counts() == {"sent": DEALS}
        report.add("fault", "key with the wrong passphrase during company signing",
                   "ok: the task stops with a KeysError before touching any draft; the retry with the right key "
                   "signs them")
