"""A worker process that SIGKILLs itself at a named point of the send or collect chain.

Run from the repository root: ``python -m tests.faults.driver SPEC.json``. The spec names the workspace
(``home``, ``url``, ``smtp_port``, ``channel``), the ``phase`` (``send``: the esign_send tasks over ``batches``
of ``run_id``; ``collect``: the esign_collect tasks), the ``kill`` point and on which ``hit`` of it to die.
The hook wraps the real function: it runs, then the process gets SIGKILL, exactly as a worker killed by the
OOM killer or a node loss (no exception handler, no ``finally``, no atexit).

Kill points:
  rendered_file         the rendered PDF was written (write_unsynced returned), not yet synced nor recorded
  rendered_recorded     the rendered files (and their slots) committed to the ledger
  company_signed_tmp    inside write_unsynced: the company-signed temp file is written, not yet renamed
  company_signed_recorded  the company-signed files and their move to company_signed committed; nothing sent yet
  smtp_accepted         SmtpSender.send returned (the server said 250), Outbox.mark_sent not yet run
  sms_accepted          the SMS gateway accepted, Outbox.mark_sent not yet run
  crm_comment           crm.add_comment returned, crm.move_deal not yet called
  sealing               inside finalize_document: the sealed bytes exist only in memory
  final_file            the final PDF was written, not yet recorded
  final_recorded        a group's final files and their moves to completed committed; not yet verified or written back
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


def install(kill: str, hit: int) -> None:
    import esign.batch_documents
    import esign.batch_finalize
    from esign.crm.local import LocalCrm
    from esign.dispatch.email import SmtpSender
    from esign.dispatch.sms import FileSmsGateway
    from esign.store.bulk import BulkLedger
    from esign.store.ledger import Ledger

    dirs = {"rendered": "rendered_file", "company-signed": "company_signed_file", "completed": "final_file"}
    for module in (esign.batch_documents, esign.batch_finalize):
        _after(module, "write_unsynced", lambda path, data: dirs.get(Path(path).parent.name), kill, hit)
    _after(Ledger, "add_version", lambda self, doc, kind, **kw: f"{kind}_recorded", kill, hit)
    _after(BulkLedger, "record_files", lambda self, files, kind: f"{kind}_recorded", kill, hit)
    _after(BulkLedger, "record_files_and_move", lambda self, files, kind, *a: f"{kind}_recorded", kill, hit)
    _after(SmtpSender, "send", lambda self, entry: "smtp_accepted", kill, hit)
    _after(FileSmsGateway, "send", lambda self, *a: "sms_accepted", kill, hit)
    _after(LocalCrm, "add_comment", lambda *a, **kw: "crm_comment", kill, hit)
    _after(esign.batch_finalize, "finalize_document", lambda *a, **kw: "sealing", kill, hit)

    if kill == "company_signed_tmp":  # die inside write_unsynced, between writing the temp file and the rename
        real_replace = os.replace

        def replace(source: Any, target: Any, **kwargs: Any) -> None:
            if "/company-signed/" in str(target) and str(source).endswith(".tmp"):
                _die_at("company_signed_tmp", kill, hit)
            real_replace(source, target, **kwargs)

        os.replace = replace


def main(spec_path: str) -> None:
    from datetime import timedelta

    from tests.faults.harness import build_services, collect_steps, send_steps

    spec = json.loads(Path(spec_path).read_text())
    services = build_services(Path(spec["home"]), spec["smtp_port"], url=spec.get("url"),
                              channel=spec.get("channel", "auto"),
                              outbox_clock_shift=timedelta(hours=spec.get("later_hours", 0)))
    services.ws.sealer  # noqa: B018 -- keys load before the hooks, like a warm worker
    install(spec["kill"], int(spec.get("hit", 1)))
    if spec["phase"] == "send":
        send_steps(services, spec["run_id"], spec["batches"])
    else:
        collect_steps(services)
    print("finished without reaching the kill point", spec["kill"])


if __name__ == "__main__":
    main(sys.argv[1])
