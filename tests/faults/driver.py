"""A worker process that SIGKILLs itself at a named point of the send or collect chain.

Run from the repository root: ``python -m tests.faults.driver SPEC.json``, or started by :func:`start` from a
forkserver that imported the pipeline once (a child then costs a fork, not seconds of imports). The spec names
the workspace (``home``, ``url``, ``smtp_port``, ``channel``), the ``phase`` (``send``: an esign_send run
``run_id`` from its plan to its last deliver; ``collect``: an esign_collect run), the ``kill`` point (``none``:
run to the end) and on which ``hit`` of it to die. Before each task the driver writes where it is to
``progress`` (JSON: the task, and the plan's batches or the collect ranges), so a test can retry the killed task
the way Airflow retries it. The hook wraps the real function: it runs, then the process gets SIGKILL, exactly as
a worker killed by the OOM killer or a node loss (no exception handler, no ``finally``, no atexit).

Kill points of esign_send, in the order the run reaches them:
  batch_recorded        plan: a batch row recorded, the next ones not yet
  rendered_file         prepare: a rendered PDF written (write_unsynced returned), not yet synced nor recorded
  rendered_recorded     prepare: a group's rendered files (and slots) committed to the ledger
  quarantined_comment   prepare: the quarantine comment posted to the CRM, the deal not yet moved nor marked done
  approval              the director's approval about to be recorded: the run dies never approved
  company_signed_tmp    deliver/sign: inside write_unsynced, the company-signed temp file written, not yet renamed
  company_signed_recorded  deliver/sign: a group's signed files and their moves to company_signed committed
  requests_created      deliver/dispatch: the batch's signing requests created, no invitation recorded yet
  invites_recorded      deliver/dispatch: the invitations recorded in the outbox (intent), none sent yet
  smtp_accepted         deliver/dispatch: SmtpSender.send returned (the server said 250), the row not yet marked
  sms_accepted          deliver/dispatch: the SMS gateway accepted, the row not yet marked
  sent_recorded         deliver/dispatch: the batch's documents moved to sent, no CRM write-back yet
  awaiting_comment      deliver/crm: the "sent for signature" comment posted, the deal not yet moved
  awaiting_moved        deliver/crm: the deal moved to awaiting, the write-back not yet marked done
Kill points of esign_collect:
  sealing               finalize: inside finalize_document, the sealed bytes exist only in memory
  final_file            finalize: a final PDF written, not yet recorded
  final_recorded        finalize: a group's final files and their moves to completed committed, not yet verified
  signed_comment        finalize: the final PDF and the "signed" comment attached, the deal not yet moved
  signed_moved          finalize: the deal moved to signed, the write-back not yet marked done
  declined_comment      wrap-up: the decline posted to the CRM, the deal not yet moved
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

_hits: dict[str, int] = {}


def _die_at(point: str, wanted: str, hit: int) -> None:
    if point != wanted:
        return
    _hits[point] = _hits.get(point, 0) + 1
    if _hits[point] >= hit:
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)


def _after(owner: Any, name: str, point_of: Callable[..., str | None], wanted: str, hit: int) -> None:
    """Wrap ``owner.name``: run it, then die if ``point_of(*args)`` names the wanted point."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        point = point_of(*args, **kwargs)
        if point:
            _die_at(point, wanted, hit)
        return result

    setattr(owner, name, wrapper)


#: The write-back target being written right now (set around ``write_back_many``): names a CRM comment's point.
_writing: list[str] = ["other"]


def _track_target(writeback: Any) -> None:
    original = writeback.write_back_many

    @functools.wraps(original)
    def wrapper(services: Any, items: Any, target: str, *args: Any, **kwargs: Any) -> Any:
        _writing[0] = target
        try:
            return original(services, items, target, *args, **kwargs)
        finally:
            _writing[0] = "other"

    writeback.write_back_many = wrapper


def install(kill: str, hit: int) -> None:
    import esign.core.batch_documents
    import esign.core.batch_finalize
    from esign.crm.local import LocalCrm
    from esign.dispatch.email import SmtpSender
    from esign.dispatch.outbox import Outbox
    from esign.dispatch.sms import FileSmsGateway
    from esign.model import Stage
    from esign.pipeline import send, writeback
    from esign.requests import SigningRequests
    from esign.store.bulk import BulkLedger
    from esign.store.ledger import Ledger

    dirs = {"rendered": "rendered_file", "company-signed": "company_signed_file", "completed": "final_file"}
    for module in (esign.core.batch_documents, esign.core.batch_finalize):
        _after(module, "write_unsynced", lambda path, data: dirs.get(Path(path).parent.name), kill, hit)
    _after(Ledger, "add_version", lambda self, doc, kind, **kw: f"{kind}_recorded", kill, hit)
    _after(BulkLedger, "record_files", lambda self, files, kind: f"{kind}_recorded", kill, hit)
    _after(BulkLedger, "record_files_and_move", lambda self, files, kind, *a: f"{kind}_recorded", kill, hit)
    _after(Ledger, "move_many", lambda self, moves, source, target, action: "sent_recorded"
           if target is Stage.SENT and moves else None, kill, hit)
    _after(send, "_record_batch", lambda *a: "batch_recorded", kill, hit)
    _after(SigningRequests, "create_for_signers", lambda *a: "requests_created", kill, hit)
    _after(Outbox, "enqueue_many", lambda self, messages: "invites_recorded" if messages else None, kill, hit)
    _after(SmtpSender, "send", lambda self, entry: "smtp_accepted", kill, hit)
    _after(FileSmsGateway, "send", lambda self, *a: "sms_accepted", kill, hit)
    _track_target(writeback)
    _after(LocalCrm, "add_comment", lambda *a, **kw: f"{_writing[0]}_comment", kill, hit)
    _after(LocalCrm, "move_deal", lambda *a, **kw: f"{_writing[0]}_moved", kill, hit)
    _after(esign.core.batch_finalize, "finalize_document", lambda *a, **kw: "sealing", kill, hit)

    if kill == "approval":  # the run dies while it waits for the director: nothing approved
        def approve_run(*args: Any, **kwargs: Any) -> int:
            _die_at("approval", kill, hit)
            raise AssertionError("unreachable")

        send.approve_run = approve_run

    if kill == "company_signed_tmp":  # die inside write_unsynced, between writing the temp file and the rename
        real_replace = os.replace

        def replace(source: Any, target: Any, **kwargs: Any) -> None:
            if "/company-signed/" in str(target) and str(source).endswith(".tmp"):
                _die_at("company_signed_tmp", kill, hit)
            real_replace(source, target, **kwargs)

        os.replace = replace


def _progress(path: str | None, **state: Any) -> None:
    if path:
        tmp = Path(path + ".tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, path)  # whole or absent, whatever the moment of the kill


#: Imported once by the forkserver the campaign's children fork from.
PRELOAD = ["tests.faults.driver", "tests.faults.harness", "esign.pipeline.send", "esign.pipeline.collect",
           "esign.core.batch_finalize", "esign.verify", "esign.crm.local"]


def start(spec_path: str, log_path: str) -> Any:
    """Start a child running ``main(spec_path)`` from the preloaded forkserver, its output in ``log_path``.

    Returns the ``multiprocessing.Process``: ``exitcode`` is ``-9`` when it killed itself.
    """
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)  # only the first call in a process starts the server with these
    process = context.Process(target=_logged_main, args=(spec_path, log_path), daemon=True)
    process.start()
    return process


def _logged_main(spec_path: str, log_path: str) -> None:
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    main(spec_path)


def main(spec_path: str) -> None:
    from datetime import timedelta

    from esign.pipeline import collect, send
    from tests.faults.harness import build_services
    from tests.support import send_after_plan

    spec = json.loads(Path(spec_path).read_text())
    services = build_services(Path(spec["home"]), spec["smtp_port"], url=spec.get("url"),
                              channel=spec.get("channel", "auto"),
                              outbox_clock_shift=timedelta(hours=spec.get("later_hours", 0)))
    services.ws.sealer  # noqa: B018 -- keys load before the hooks, like a warm worker
    if spec["kill"] != "none":
        install(spec["kill"], int(spec.get("hit", 1)))
    progress = spec.get("progress")
    if spec["phase"] == "send":
        _progress(progress, task="plan")
        batches = send.plan_batches(services, spec["run_id"])
        _progress(progress, task="after_plan", batches=batches)
        send_after_plan(services, spec["run_id"], batches, "fault-campaign")
    else:
        _progress(progress, task="start")
        ranges = collect.start_run(services)
        for index, id_range in enumerate(ranges):
            _progress(progress, task="finalize", ranges=ranges, index=index)
            collect.finalize_range(services, id_range)
        _progress(progress, task="wrap_up", ranges=ranges)
        collect.wrap_up(services)
    print("finished without reaching the kill point", spec["kill"])


if __name__ == "__main__":
    main(sys.argv[1])
