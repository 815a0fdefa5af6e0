"""Bulk-run benchmark: 10,000 deals through the send and collect chains, against the primitive bound.

``make bench`` runs it: ``.venv/bin/python bench/pipeline_bench.py [--deals 10000] [--workers 2]``.

It seeds the deals into a fresh embedded workdir (SQLite ledger, local CRM, local SMTP server), then runs the
pipeline's own step functions over batch descriptors the way the DAGs do (plan, prepare, approve, sign, dispatch,
CRM "awaiting"; clients sign through ``SigningRequests``; recover, expire, finalize + verify + write-back, endings)
with mapped batches spread over a pool of worker processes (``esign.pipeline.parallel``; the collect chain, another
DAG run whose tasks start as new processes, gets a new pool). In the same run it measures the primitive bound on
the same pool: rendering the same template for a sample of the same deals, company-signing with the loaded key
and sending a pre-built message; sealing and validating a sample of the run's client-signed documents. It prints,
per step and per chain, documents/s, wall time, CPU time and peak memory of each process, the ratio pipeline /
bound, checks exactly-once in the ledger and verifies a sample of the output (``verify_pdf`` and ``pdfsig``).
Figures go to ``var/bench/`` as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import pipeline_steps  # noqa: E402
from bench.pipeline_checks import ledger_problems, verify_sample  # noqa: E402

from esign.config import Settings  # noqa: E402
from esign.crm.seed import seed_demo  # noqa: E402
from esign.dispatch.email import SmtpSettings  # noqa: E402
from esign.dispatch.mailserver import LocalMailServer  # noqa: E402
from esign.pipeline import collect, send  # noqa: E402
from esign.pipeline.config import PipelineConfig  # noqa: E402
from esign.pipeline.parallel import StepPool, WorkerSpec  # noqa: E402
from esign.pipeline.services import Services  # noqa: E402
from esign.signing import init_keys  # noqa: E402
from esign.workspace import Workspace  # noqa: E402

PASSPHRASE = b"bench-only-passphrase"
LINK_SECRET = "bench-only-link-secret-0123456789abcdef0123"  # noqa: S105 - a throwaway bench workdir
RUN_ID = "bench-run"
SEED_CHUNK = 10_000


@dataclass
class Step:
    """One measured step: documents it handled, wall and CPU seconds, peak RSS of each process (MiB)."""

    name: str
    chain: str
    docs: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    peak_mib: dict[str, float] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.docs / self.wall if self.wall > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "chain": self.chain, "docs": self.docs, "wall_s": round(self.wall, 3),
                "cpu_s": round(self.cpu, 3), "docs_per_s": round(self.rate, 2), "peak_rss_mib": self.peak_mib,
                "counts": dict(self.counts)}


class Recorder:
    """Times steps run in this process or on the pool, and keeps every process's peak memory."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.peaks: dict[str, float] = {}

    def _peak(self, who: str, mib: float) -> None:
        self.peaks[who] = max(self.peaks.get(who, 0.0), mib)

    def local(self, name: str, chain: str, work: Callable[[], dict[str, Any]], docs_key: str | None = None) -> Step:
        step = Step(name, chain)
        wall, cpu = time.perf_counter(), time.process_time()
        counts = work()
        step.wall, step.cpu = time.perf_counter() - wall, time.process_time() - cpu
        step.counts.update({k: v for k, v in counts.items() if isinstance(v, int)})
        step.docs = int(counts.get(docs_key, 0)) if docs_key else 0
        self._finish(step, {})
        return step

    def pooled(self, name: str, chain: str, pool: StepPool, function: Callable[[Services, Any], Any],
               items: Iterable[Any], docs_key: str | Callable[[Counter[str]], int]) -> Step:
        step = Step(name, chain)
        workers: dict[str, float] = {}
        wall, cpu = time.perf_counter(), time.process_time()
        for result in pool.map(function, items):
            step.cpu += result.cpu
            workers[f"worker-{result.pid}"] = max(workers.get(f"worker-{result.pid}", 0), result.peak_rss_mib)
            step.counts.update({k: v for k, v in (result.value or {}).items() if isinstance(v, int)})
        step.wall = time.perf_counter() - wall
        step.cpu += time.process_time() - cpu
        step.docs = docs_key(step.counts) if callable(docs_key) else step.counts.get(docs_key, 0)
        self._finish(step, workers)
        return step

    def _finish(self, step: Step, workers: dict[str, float]) -> None:
        step.peak_mib = {"main": _own_peak_mib(), **{k: round(v, 1) for k, v in workers.items()}}
        for who, mib in step.peak_mib.items():
            self._peak(who, mib)
        self.steps.append(step)
        print(f"  {step.chain:<8} {step.name:<34} {step.docs:>7} docs {step.wall:8.1f} s wall "
              f"{step.cpu:8.1f} s cpu {step.rate:8.1f} docs/s  {dict(step.counts)}", flush=True)


def _own_peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for first in range(0, total, size):
        yield first, min(size, total - first)


def _even_items(total: int, workers: int, about: int = 10) -> Iterator[tuple[int, int]]:
    """(first, count) items of about ``about`` documents, as many as a multiple of ``workers`` and of sizes that
    differ by one at most: no worker idles at the end while another finishes a last item (the wall counts)."""
    n = workers * max(1, round(total / (about * workers)))
    first = 0
    for k in range(n):
        count = total // n + (1 if k < total % n else 0)
        if count:
            yield first, count
        first += count


class Bound:
    """The primitive bound of one chain, measured on the same pool in two halves: before the chain's steps and
    after them, so a change in the machine's load during the run weighs on both sides alike. Each half's rate is
    reported too: workers that ran the chain may have become slower than fresh ones.

    ``inputs`` are real ones from the run (deals, client-signed documents), each used once: the renderer keeps
    the paragraphs it has laid out, so a deal rendered twice by a worker would be cheaper than the pipeline's
    deals, each rendered once. The first ``WARM_UP`` inputs are spent untimed on every worker before the first
    half: one-time costs (the first layout of the clauses, lazily loaded code) are paid once per process by the
    pipeline too, over thousands of documents instead of a few hundred.
    """

    WARM_UP = 5

    def __init__(self, pool: StepPool, function: Callable[[Services, Any], Any], docs: int, inputs: list[Any],
                 port: int | None = None) -> None:
        self.pool, self.function, self.port = pool, function, port
        self.warm_inputs, self.inputs = inputs[:self.WARM_UP], inputs[self.WARM_UP:]
        if len(self.inputs) < docs:
            print(f"  bound    only {len(self.inputs)} inputs for {docs} documents: some are used twice", flush=True)
        self.halves = (docs // 2, docs - docs // 2)
        self.docs, self.wall, self.cpu = 0, 0.0, 0.0
        self.spent: Counter[str] = Counter()
        self.half_rates: list[float] = []

    def warm_up(self) -> None:
        """Every worker does the warm-up inputs once, untimed (a worker may get two turns; five rounds at most)."""
        warmed: set[int] = set()
        for _ in range(5):
            items = [(0, len(self.warm_inputs), self.warm_inputs, self.port)] * self.pool.workers
            warmed.update(result.pid for result in self.pool.map(self.function, items))
            if len(warmed) >= self.pool.workers:
                return

    def measure(self, half: int) -> None:
        if half == 0:
            self.warm_up()
        first = self.docs
        items = [(first + n, count, self._inputs(first + n, count), self.port)
                 for n, count in _even_items(self.halves[half], self.pool.workers)]
        start = time.perf_counter()
        for result in self.pool.map(self.function, items):
            self.spent.update(result.value)
            self.cpu += result.cpu
        took = time.perf_counter() - start
        self.wall += took
        self.docs += self.halves[half]
        self.half_rates.append(round(self.halves[half] / took, 2) if took else 0.0)

    def _inputs(self, first: int, count: int) -> list[Any]:
        """The inputs of documents ``first``.. (in turn if there are fewer inputs than documents)."""
        return [self.inputs[(first + k) % len(self.inputs)] for k in range(count)]

    def figures(self) -> dict[str, Any]:
        """docs/s over the wall, CPU ms per document, and per primitive the rate if it alone had the wall."""
        parts = {k: v for k, v in self.spent.items() if k != "docs"}
        busy = sum(parts.values()) or 1.0
        out = {"docs": self.docs, "wall_s": round(self.wall, 3), "docs_per_s": round(self.docs / self.wall, 2),
               "cpu_ms_per_doc": round(1000 * self.cpu / max(self.docs, 1), 2),
               "docs_per_s_before_after": self.half_rates}
        for name, seconds in parts.items():
            out[f"{name}_docs_per_s"] = round(self.docs / (self.wall * seconds / busy), 2)
        return out


def _prepare_workdir(workdir: Path, deals: int) -> tuple[Settings, int]:
    if workdir.exists():
        shutil.rmtree(workdir)
    settings = Settings.from_env({"ESIGN_HOME": str(workdir), "ESIGN_PUBLIC_URL": "http://127.0.0.1:9",
                                  "ESIGN_LINK_SECRET": LINK_SECRET}, project_dir=ROOT)
    ws = Workspace(settings, passphrase=PASSPHRASE)
    company = ws.company
    init_keys(settings.keys_dir, PASSPHRASE, company_name=company.party.name, director_name=company.director_name,
              director_title=company.director_title)
    seeded = 0
    for first, count in _chunks(deals, SEED_CHUNK):  # 100,000 deals never in memory at once
        # one signer per deal: the figures measure the pipeline's steps, comparable from run to run
        seeded += seed_demo(ws.engine, count, rng_seed=7 + first, signers_every=0).deals
    ws.engine.dispose()
    return settings, seeded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=2500, help="deals per batch (4 batches of 10,000)")
    parser.add_argument("--workers", type=int, default=0, help="pool processes (default: one per core)")
    parser.add_argument("--bound-docs", type=int, default=0, help="documents for the bound (default: 3%%, 60-300)")
    parser.add_argument("--sample", type=int, default=25, help="completed documents verified with pdfsig")
    parser.add_argument("--keep", action="store_true", help="keep the workdir afterwards")
    parser.add_argument("--send-only", action="store_true",
                        help="only the send chain (pull to dispatch): a 100,000-deal memory check in half the time")
    parser.add_argument("--json", type=Path, help="write the figures here (default var/bench/pipeline-<time>.json)")
    parser.add_argument("--workdir", type=Path, help="the throwaway workdir (default var/bench/work)")
    args = parser.parse_args()
    out_dir = ROOT / "var" / "bench"
    workdir = args.workdir or out_dir / "work"
    bound_docs = args.bound_docs or max(60, min(300, args.deals * 3 // 100))
    load_before = os.getloadavg()
    print(f"pipeline bench: {args.deals} deals, batch size {args.batch_size}, load {load_before[0]:.2f}", flush=True)

    rec = Recorder()
    settings_holder: list[Settings] = []
    seeded_holder: list[int] = []

    def seed() -> dict[str, Any]:
        settings, seeded = _prepare_workdir(workdir, args.deals)
        settings_holder.append(settings)
        seeded_holder.append(seeded)
        return {"seeded": seeded}

    rec.local("seed deals + keys", "setup", seed, "seeded")
    settings, seeded = settings_holder[0], seeded_holder[0]
    config = PipelineConfig(auto_approve=True, batch_size=args.batch_size)

    with LocalMailServer(workdir / "mail") as mail, LocalMailServer(workdir / "bound-mail") as bound_mail:
        smtp = SmtpSettings(host="127.0.0.1", port=mail.port)
        spec = WorkerSpec(settings=settings, config=config, smtp=smtp, passphrase=PASSPHRASE)
        services = Services(ws=Workspace(settings, passphrase=PASSPHRASE), config=config, smtp=smtp)
        ws = services.ws
        with StepPool(spec, args.workers or None, step_modules=("bench.",)) as pool:
            rec.local("start workers (keys, fonts, templates)", "setup",
                      lambda: {"workers": len(pool.warm_up())})
            send_bound = Bound(pool, pipeline_steps.bound_send, bound_docs,
                               pipeline_steps.bound_deals(services, Bound.WARM_UP + bound_docs), bound_mail.port)
            send_bound.measure(0)

            batches: list[dict[str, Any]] = []

            def plan() -> dict[str, Any]:
                batches.extend(send.plan_batches(services, RUN_ID))
                return {"batches": len(batches), "deals": sum(int(b["count"]) for b in batches)}

            rec.local("plan batches", "send", plan, "deals")
            rec.pooled("prepare (validate + render)", "send", pool, send.prepare_batch, batches,
                       lambda c: c["prepared"] + c["quarantined"])
            rec.local("approve run", "send",
                      lambda: {"batches": send.approve_run(services, RUN_ID, "bench-director")})
            # the DAG's deliver task: each batch is signed, dispatched and moved in the CRM in one task
            rec.pooled("deliver: sign + dispatch + CRM awaiting", "send", pool, pipeline_steps.deliver_batch,
                       batches, "dispatch.marked_sent")
            send_bound.measure(1)
            bound_send = send_bound.figures()
            print(f"  bound    send primitives: {bound_send}", flush=True)
            bound_collect: dict[str, Any] = {}
            if not args.send_only:
                rec.pooled("clients sign / decline", "clients", pool, pipeline_steps.clients_answer, batches,
                           lambda c: c["signed"] + c["declined"])
        if not args.send_only:
            # esign_collect is another DAG run whose tasks start as new processes: its own pool, like them
            with StepPool(spec, args.workers or None, step_modules=("bench.",)) as pool:
                rec.local("start workers for collect", "setup", lambda: {"workers": len(pool.warm_up())})
                collect_bound = Bound(pool, pipeline_steps.bound_collect, bound_docs,
                                      pipeline_steps.bound_seal_inputs(services, Bound.WARM_UP + bound_docs))
                collect_bound.measure(0)
                rec.local("recover", "collect", lambda: collect.recover(services))
                rec.local("expire", "collect", lambda: collect.expire_requests(services))
                # as esign_collect: one mapped finalize task per ID range of client-signed documents
                rec.pooled("finalize + verify + write-back", "collect", pool, collect.finalize_range,
                           collect.signed_ranges(services, pool.workers), "finalized")
                rec.local("write back endings", "collect", lambda: collect.write_back_endings(services),
                          "declined")
                collect_bound.measure(1)
                bound_collect = collect_bound.figures()
                print(f"  bound    collect primitives: {bound_collect}", flush=True)
        received = mail.handler.received

    load_after = os.getloadavg()
    print("checks", flush=True)
    problems = ledger_problems(ws, seeded, received)
    sample = verify_sample(ws, args.sample)
    stages = ws.ledger.stage_counts()
    report = _report(rec, bound_send, bound_collect, stages)
    report.update(deals=seeded, batch_size=args.batch_size, workers=pool.workers, cpus=os.cpu_count(),
                  load_before=load_before, load_after=load_after, stages=stages, ledger_problems=problems,
                  sample=sample, emails_received=received, at=datetime.now(UTC).isoformat())
    _print_summary(report)
    path = args.json or out_dir / f"pipeline-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str))
    print(f"figures written to {_shown(path)}")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if problems or sample["failures"] else 0


def _shown(path: Path) -> str:
    """``path`` relative to the project when it is inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _report(rec: Recorder, bound_send: dict[str, Any], bound_collect: dict[str, Any],
            stages: dict[str, int]) -> dict[str, Any]:
    chains: dict[str, dict[str, float]] = {}
    for chain, docs in (("send", stages.get("sent", 0) + stages.get("viewed", 0) + stages.get("completed", 0)
                         + stages.get("declined", 0) + stages.get("client_signed", 0)),
                        ("collect", stages.get("completed", 0))):
        if not (bound_send if chain == "send" else bound_collect):
            continue  # not run (--send-only)
        steps = [s for s in rec.steps if s.chain == chain]
        wall, cpu = sum(s.wall for s in steps), sum(s.cpu for s in steps)
        figures = bound_send if chain == "send" else bound_collect
        bound, bound_cpu = figures["docs_per_s"], figures["cpu_ms_per_doc"]
        rate = docs / wall if wall else 0.0
        cpu_per_doc = 1000 * cpu / docs if docs else 0.0
        chains[chain] = {"docs": docs, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "docs_per_s": round(rate, 2),
                         "cpu_ms_per_doc": round(cpu_per_doc, 2), "bound_docs_per_s": bound,
                         "bound_cpu_ms_per_doc": bound_cpu,
                         "pipeline_over_bound": round(rate / bound, 3) if bound else 0.0,
                         "pipeline_over_bound_cpu": round(bound_cpu / cpu_per_doc, 3) if cpu_per_doc else 0.0}
    return {"steps": [s.as_dict() for s in rec.steps], "chains": chains, "peak_rss_mib": rec.peaks,
            "bound": {"send": bound_send, "collect": bound_collect}}


def _print_summary(report: dict[str, Any]) -> None:
    print(f"\n{'step':<44} {'docs':>7} {'docs/s':>8} {'wall s':>8} {'cpu s':>8}  peak MiB per process")
    for s in report["steps"]:
        peaks = " ".join(f"{v:.0f}" for v in s["peak_rss_mib"].values())
        print(f"{s['chain'] + ': ' + s['name']:<44} {s['docs']:>7} {s['docs_per_s']:>8.1f} {s['wall_s']:>8.1f} "
              f"{s['cpu_s']:>8.1f}  {peaks}")
    for name, c in report["chains"].items():
        print(f"{name + ' chain':<44} {c['docs']:>7} {c['docs_per_s']:>8.1f} {c['wall_s']:>8.1f} {c['cpu_s']:>8.1f}"
              f"  bound {c['bound_docs_per_s']:.1f} docs/s, pipeline/bound {c['pipeline_over_bound']:.2f}; CPU per "
              f"document {c['cpu_ms_per_doc']:.1f} ms vs bound {c['bound_cpu_ms_per_doc']:.1f} ms, "
              f"bound/pipeline {c['pipeline_over_bound_cpu']:.2f}")
    print(f"peak RSS MiB: {report['peak_rss_mib']}")
    print(f"load average before/after: {report['load_before'][0]:.2f} / {report['load_after'][0]:.2f} "
          f"on {report['cpus']} CPUs, {report['workers']} workers")
    print(f"stages: {report['stages']}")
    print(f"exactly-once problems: {report['ledger_problems'] or 'none'}")
    sample = report["sample"]
    print(f"verified sample: {sample['sampled']} documents (verify_pdf{' + pdfsig' if sample['pdfsig'] else ''}), "
          f"{len(sample['failures'])} failures {sample['failures'][:3]}")


if __name__ == "__main__":
    sys.exit(main())
