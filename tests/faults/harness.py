"""What every crash and fault campaign shares: a workspace on disk, the DAG step order, and the invariants.

Importable by the child processes (``python -m tests.faults.driver``) and by the tests: nothing here imports
pytest fixtures. The invariants are the pipeline's promises: every deal ends in exactly one correct
stage, no message is sent twice or lost, every recorded file exists whole and matches its SHA-256, and each
document's stage agrees with its event log.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from esign.config import Settings
from esign.dispatch.email import SmtpSettings
from esign.dispatch.mailserver import read_messages
from esign.dispatch.outbox import Outbox
from esign.dispatch.outbox_schema import outbox
from esign.dispatch.sms import read_sms
from esign.model import Stage
from esign.pipeline.config import PipelineConfig
from esign.pipeline.schema import crm_sync
from esign.pipeline.services import Services
from esign.store import sha256_hex
from esign.store.schema import document_versions, documents, events
from esign.workspace import Workspace
from tests.support import PROJECT_DIR, TEST_PASSPHRASE, send_after_plan

LINK_SECRET = "fault-campaign-link-secret-0123456789abcdef"
DEALS = 6
BATCH_SIZE = 3
#: The crash campaign's deals: some broken on purpose, so quarantines and their write-backs are on every path.
CAMPAIGN_DEALS, CAMPAIGN_BROKEN = 8, 2

#: The CRM target each final document stage is written back as.
CRM_TARGET = {Stage.SENT: "awaiting", Stage.VIEWED: "awaiting", Stage.COMPLETED: "signed",
              Stage.DECLINED: "declined", Stage.EXPIRED: "expired", Stage.QUARANTINED: "quarantined",
              Stage.FAILED: "failed"}


def settings_for(home: Path, url: str | None = None) -> Settings:
    env = {"ESIGN_HOME": str(home), "ESIGN_PUBLIC_URL": "http://127.0.0.1:9", "ESIGN_LINK_SECRET": LINK_SECRET}
    if url:
        env["ESIGN_DATABASE_URL"] = url
    return Settings.from_env(env, project_dir=PROJECT_DIR)


def prepare_home(home: Path, keys_dir: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "keys").exists():
        shutil.copytree(keys_dir, home / "keys")


def build_services(home: Path, smtp_port: int, *, url: str | None = None, channel: str = "auto",
                   passphrase: bytes = TEST_PASSPHRASE, outbox_clock_shift: timedelta | None = None,
                   smtp_timeout: float = 30.0, crm: str = "local") -> Services:
    """A worker's services over ``home`` (SQLite under it, or ``url``); ``outbox_clock_shift`` plays a later run."""
    ws = Workspace(settings_for(home, url), passphrase=passphrase)
    services = Services(ws=ws, config=PipelineConfig(auto_approve=True, batch_size=BATCH_SIZE, channel=channel,
                                                  crm=crm),
                        smtp=SmtpSettings(host="127.0.0.1", port=smtp_port, timeout=smtp_timeout))
    if outbox_clock_shift is not None:
        shift = outbox_clock_shift
        services.outbox = Outbox(ws.engine, clock=lambda: datetime.now(UTC) + shift)
    return services


# -- the DAG steps, in DAG order, without Airflow ---------------------------------------------------------
def send_steps(services: Services, run_id: str, batches: list[dict[str, Any]]) -> None:
    """esign_send after ``plan``: what a (re-)run or a retry of every mapped task does."""
    send_after_plan(services, run_id, batches, "fault-campaign")


def collect_steps(services: Services) -> dict[str, Any]:
    """esign_collect in DAG order: start (recover, expire, ranges), finalize per range, wrap-up."""
    from esign.pipeline import collect

    ranges = collect.start_run(services)
    return {"finalize": [collect.finalize_range(services, r) for r in ranges], "wrap_up": collect.wrap_up(services)}


def retry_send(services: Services, run_id: str, progress: dict[str, Any] | None) -> None:
    """Airflow retrying the killed esign_send run (same run id): the plan again if it died planning, else the
    tasks with the batches its plan returned (tasks that had finished only find nothing left to do)."""
    from esign.pipeline import send

    batches = (progress or {}).get("batches")
    if batches is None:
        batches = send.plan_batches(services, run_id)
    send_after_plan(services, run_id, batches, "fault-campaign")


def new_send_run(services: Services, run_id: str) -> None:
    """A new esign_send run (a new run id): plan (taking over what earlier runs left), prepare, approve, deliver."""
    from esign.pipeline import send

    send_after_plan(services, run_id, send.plan_batches(services, run_id), "fault-campaign")


def retry_collect(services: Services, progress: dict[str, Any] | None) -> None:
    """Airflow retrying the killed esign_collect task with the same input, then the run's remaining tasks."""
    from esign.pipeline import collect

    state = progress or {"task": "start"}
    if state["task"] == "start":
        collect_steps(services)
        return
    ranges = state["ranges"]
    start = int(state.get("index", len(ranges))) if state["task"] == "finalize" else len(ranges)
    for id_range in ranges[start:]:
        collect.finalize_range(services, id_range)
    collect.wrap_up(services)


# -- invariants -------------------------------------------------------------------------------------------
@dataclass
class Findings:
    """What the invariant check saw; ``problems`` empty means every invariant held."""

    problems: list[str] = field(default_factory=list)
    stages: Counter[str] = field(default_factory=Counter)
    delivered: int = 0
    uncertain: int = 0
    tmp_leftovers: int = 0
    duplicate_comments: int = 0
    never_handed: int = 0  # uncertain rows the dead worker had claimed but never handed to the server
    verified_pdfsig: int = 0

    def summary(self) -> str:
        stages = ", ".join(f"{k} {v}" for k, v in sorted(self.stages.items()))
        extra = []
        if self.uncertain:
            extra.append(f"{self.uncertain} invite(s) uncertain, counted sent")
        if self.tmp_leftovers:
            extra.append(f"{self.tmp_leftovers} .tmp leftover(s) never recorded")
        if self.verified_pdfsig:
            extra.append(f"{self.verified_pdfsig} final PDF(s) verified (verify_pdf + pdfsig)")
        if self.duplicate_comments:
            extra.append(f"{self.duplicate_comments} CRM comment(s) repeated")
        tail = "".join(f"; {e}" for e in extra)
        return f"{stages}; {self.delivered} invite(s) delivered, none twice{tail}"


def check_invariants(services: Services, *, maildir: Path, expected: dict[str, int] | None = None,
                     crm_comments: dict[int, list[str]] | None = None,
                     crm_stage: Any = None, deal_ids: Iterable[int] = ()) -> Findings:
    """Every invariant above, checked over the whole ledger, the captured mail and the SMS file.

    ``crm_comments``/``crm_stage`` read the CRM (default: the embedded one in the ledger database); each of
    ``deal_ids`` must have a document. Repeated CRM comments are counted (``duplicate_comments``), not problems:
    the caller decides. Nothing may be left in draft or company_signed, every write-back of a final-enough stage
    must be done, every invitation delivered exactly once (one in doubt after a crash included).
    """
    from esign.crm.local import LocalCrm
    from esign.verify import verify_pdf

    ws = services.ws
    found = Findings()
    problems = found.problems
    with ws.engine.connect() as conn:
        docs = conn.execute(select(documents)).all()
        versions = conn.execute(select(document_versions)).all()
        stage_events = conn.execute(select(events.c.document_id, events.c.stage)
                                    .where(events.c.stage.is_not(None)).order_by(events.c.id)).all()
        invites = conn.execute(select(outbox).where(outbox.c.kind == "invite")).all()
        syncs = conn.execute(select(crm_sync)).all()
    local = LocalCrm(ws.engine) if crm_stage is None else None
    get_stage = crm_stage or local.get_deal_stage  # type: ignore[union-attr]

    # one document per deal+template, each in a final-enough stage that agrees with its event log
    per_deal = Counter((d.deal_id, d.template_id, d.round) for d in docs)
    problems += [f"deal {k[0]}: {n} documents" for k, n in per_deal.items() if n > 1]
    with_document = {int(d.deal_id) for d in docs}
    problems += [f"deal {deal}: no document" for deal in deal_ids if deal not in with_document]
    entered: dict[str, Counter[str]] = {}
    for document_id, stage in stage_events:
        entered.setdefault(document_id, Counter())[stage] += 1
    for d in docs:
        stage = Stage(d.stage)
        found.stages[stage.value] += 1
        derived = ws.ledger.derived_stage(d.id)
        if derived is not stage:
            problems.append(f"{d.id}: stage {stage} but the event log says {derived}")
        twice = [s for s, n in entered.get(d.id, Counter()).items() if n > 1]
        if twice:
            problems.append(f"{d.id}: entered {twice} more than once")
        target = CRM_TARGET.get(stage)
        if target is None:
            problems.append(f"{d.id}: left in {stage} after recovery")
            continue
        want = getattr(services.config.stages, target)
        have = get_stage(int(d.deal_id))
        if have != want:
            problems.append(f"deal {d.deal_id} ({d.id}, {stage}): CRM stage {have}, expected {want}")
    if expected is not None and dict(found.stages) != expected:
        problems.append(f"stages {dict(found.stages)} != expected {expected}")

    # files: every recorded version exists whole and matches; no unrecorded PDF; .tmp never recorded
    recorded = set()
    for v in versions:
        path = Path(v.path)
        recorded.add(path.resolve())
        if path.suffix != ".pdf":
            problems.append(f"{v.document_id} {v.kind}: recorded path {path.name} is not a .pdf")
        if not path.is_file():
            problems.append(f"{v.document_id} {v.kind}: recorded file missing")
            continue
        data = path.read_bytes()
        if sha256_hex(data) != v.sha256 or len(data) != v.size:
            problems.append(f"{v.document_id} {v.kind}: file does not match its recorded SHA-256/size")
    docs_dir = ws.settings.documents_dir
    on_disk = {p.resolve() for p in docs_dir.rglob("*.pdf")} if docs_dir.exists() else set()
    stray = on_disk - recorded
    if stray:
        problems.append(f"unrecorded PDFs: {sorted(p.name for p in stray)}")
    found.tmp_leftovers = len(list(docs_dir.rglob("*.tmp"))) if docs_dir.exists() else 0
    from esign.verify.poppler import pdfsig_problem

    for d in docs:
        if d.stage == Stage.COMPLETED.value:
            data = ws.version_path("final", d.id).read_bytes()
            verdict = verify_pdf(data, ws.ledger, ws.trust_roots)
            if not verdict.authentic:
                problems.append(f"{d.id}: final PDF does not verify: {verdict.reasons}")
            elif (problem := _pdfsig(pdfsig_problem, data)) is not None:
                problems.append(f"{d.id}: pdfsig: {problem}")
            else:
                found.verified_pdfsig += 1

    # messages: one invite row per request, each received exactly once (the crash came after the server said yes)
    received = Counter(str(m.message["Message-ID"]) for m in read_messages(maildir))
    sms = Counter(str(s["reference"]) for s in read_sms(ws.settings.workdir / "sms" / "outbox.jsonl"))
    problems += [f"email {mid} received {n} times" for mid, n in received.items() if n > 1]
    problems += [f"SMS {ref} sent {n} times" for ref, n in sms.items() if n > 1]
    per_request = Counter(i.request_id for i in invites)  # one per signer's request: several signers, several
    problems += [f"request {req}: {n} invitations" for req, n in per_request.items() if n > 1]
    per_document = Counter(i.document_id for i in invites)
    needs_invite = {d.id for d in docs if d.stage not in (Stage.QUARANTINED.value, Stage.FAILED.value)}
    for doc in sorted(needs_invite - set(per_document)):
        problems.append(f"{doc}: no invitation recorded")
    for i in invites:
        copies = (received if i.channel == "email" else sms)[i.message_id]
        if i.state == "sent" and copies != 1:
            problems.append(f"{i.document_id}: invite sent but delivered {copies} times")
        if i.state == "uncertain" and copies > 1:
            problems.append(f"{i.document_id}: invite uncertain but delivered {copies} times")
        if i.state == "uncertain" and copies == 0:  # one message in flight: only a handed-over one is in doubt
            problems.append(f"{i.document_id}: invite uncertain but never handed to the server")
            found.never_handed += 1
        if i.state not in ("sent", "uncertain", "failed"):
            problems.append(f"{i.document_id}: invite left {i.state}")
        found.delivered += copies
        found.uncertain += i.state == "uncertain"

    # CRM write-backs: all done; a repeated comment only where a crash or lost answer forced a repeat
    current_target = {d.id: CRM_TARGET.get(Stage(d.stage)) for d in docs}
    problems += [f"{s.document_id}: write-back {s.target} left {s.state}" for s in syncs
                 if s.state != "done" and current_target.get(s.document_id) == s.target]  # else superseded
    done = {(s.document_id, s.target) for s in syncs if s.state == "done"}
    problems += [f"{d.id} ({d.stage}): write-back {current_target[d.id]} never done" for d in docs
                 if current_target.get(d.id) and d.batch_id and (d.id, current_target[d.id]) not in done]
    comments = crm_comments if crm_comments is not None else {
        int(d.deal_id): [c.text for c in local.comments(int(d.deal_id))] for d in docs}  # type: ignore[union-attr]
    for texts in comments.values():
        found.duplicate_comments += sum(n - 1 for n in Counter(texts).values() if n > 1)
    return found


def _pdfsig(problem_of: Any, data: bytes) -> str | None:
    """poppler's verdict on the bytes (written to a temporary file for it)."""
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pdf") as tmp:
        tmp.write(data)
        tmp.flush()
        return problem_of(Path(tmp.name))  # type: ignore[no-any-return]


def write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def ids(rows: Iterable[Any]) -> list[str]:
    return [r.id for r in rows]
