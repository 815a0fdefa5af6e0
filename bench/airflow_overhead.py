"""Airflow's own overhead on a real scheduler: esign_send + esign_collect through Airflow vs the same steps direct.

``make bench-airflow`` runs it: ``.venv/bin/python bench/airflow_overhead.py --deals 10000 --batch-size 2500``.

1. Direct, before. ``bench/pipeline_bench.py`` with the same deals, batch size and finalize chunk (the collect
   DAG's) on a pool of 2 workers, in a child process: its send and collect chain walls.
2. Airflow. A fresh embedded workdir (SQLite ledger, the local CRM seeded with ``--deals`` deals, keys) and a local
   SMTP server; Airflow's api-server, scheduler (LocalExecutor, parallelism 2) and dag-processor as subprocesses,
   each in its own process group, with a throwaway PostgreSQL metadata database and cron schedules off
   (``use_job_schedule = False``), so the triggered runs are the only runs. First an ``esign_collect`` run with
   nothing to collect, as a deployment has run every 10 minutes before any bulk run (not measured: it takes the
   one-time costs of a freshly started stack, such as the api-server building its execution API on the first
   task's first call). Then, measured, through the REST API: ``esign_send`` with
   ``{"auto_approve": true, "batch_size": B}``; when it has succeeded every client answers in-process
   (``bench.pipeline_steps.clients_answer`` over the run's batches, on a pool of 2 like the pipeline bench); then
   ``esign_collect``. Each run's wall (trigger -> end), its task instances and its idle gaps come from the metadata
   database (``bench.airflow_figures``); the CPU seconds of each Airflow process tree (task processes included)
   and of PostgreSQL are sampled around each run.
3. Direct, after: as 1, once the stack is stopped. This machine's speed can drift within minutes (seen: two
   finalize tasks of the same size took 146 s and 200 s in one run); the mean of a run before and a run after
   cancels a steady drift, and their spread is printed as the measurement's noise.
   ``--direct-runs 1`` skips the run before.

overhead = (Airflow send wall + collect wall) - (direct send chain + collect chain, mean of the direct runs);
share = overhead / Airflow total; per task instance = overhead / task instances run. Figures go to
``var/bench/airflow-overhead-<time>.json``, process and task logs to ``var/bench/airflow/logs/``. Each task
instance's own time is split from its task log (start-up, Airflow's DAG file parse, execute, post-execute) and the
scheduler's log says how long its worker stayed busy after it ended.

The stack runs with the worker settings the README recommends for production (``esign.hooks.worker_settings``):
LocalExecutor workers forked from a forkserver that imported ``esign.hooks.worker_preload`` once, so a worker
starts with Airflow's worker code loaded, a task process with the pipeline loaded, and the task supervisor notices
a finished task at once (heartbeats at Airflow's 5 s). ``--no-preload`` measures Airflow's defaults instead.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.airflow_figures import PARALLELISM, figures, metadata  # noqa: E402

from esign.hooks.worker_settings import WORKER_SETTINGS  # noqa: E402
from tests.prod.stack import BIN, Api, Stack, StackError, airflow_env, free_port, wait_for  # noqa: E402

DIRECT_CHAINS = ("send", "collect")


def _machine_busy() -> float:
    """CPU seconds every CPU of the machine has been busy since boot."""
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)
                 + getattr(t, "steal", 0.0))


def _fresh(workdir: Path, deals: int) -> int:
    """A fresh embedded workdir with keys and seeded deals; this process's environment now points at it."""
    if workdir.exists():
        shutil.rmtree(workdir)
    for name in [n for n in os.environ if n.startswith("ESIGN_")]:  # the embedded defaults, nothing from outside
        del os.environ[name]
    os.environ["ESIGN_RULES_FILE"] = str(ROOT / "config" / "rules.yaml")  # no demo rules: as pipeline_bench
    os.environ["ESIGN_PUBLIC_URL"] = "http://127.0.0.1:9"
    from esign.demo import environment

    environment.configure(workdir, ROOT)
    from esign.composition import read_settings
    from esign.config import key_passphrase
    from esign.crm.seed import seed_demo
    from esign.signing import init_keys
    from esign.workspace import Workspace

    settings = read_settings()
    ws = Workspace(settings)
    company = ws.company
    init_keys(settings.keys_dir, key_passphrase(settings.variables), company_name=company.party.name,
              director_name=company.director_name, director_title=company.director_title)
    seeded = seed_demo(ws.engine, deals, rng_seed=7, signers_every=0)  # one signer per deal, as the figures
    ws.engine.dispose()
    return int(seeded.deals)


# --- CPU of the stack's process trees ---------------------------------------------------------------------------

def _tree_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of a process tree, the exited processes it has reaped included, by role: the process itself,
    LocalExecutor workers (found by their process title; each supervises the task processes it forks), task
    processes (a worker's children, running or reaped) and any other helper (a forkserver, a resource tracker)."""
    spent = {"self": 0.0, "executor workers": 0.0, "task processes": 0.0, "helpers": 0.0}
    try:
        root = psutil.Process(pid)
        t = root.cpu_times()
        spent["self"] += t.user + t.system
        spent["helpers"] += t.children_user + t.children_system
        below = root.children(recursive=True)
    except psutil.Error:
        return spent
    titled, parent = set(), {}
    for proc in below:
        with contextlib.suppress(psutil.Error):
            parent[proc.pid] = proc.ppid()
            if "LocalExecutor" in " ".join(proc.cmdline()):
                titled.add(proc.pid)
    workers = {p for p in titled if parent.get(p) not in titled}  # a task process may carry its worker's title

    def under_worker(p: int) -> bool:
        while p in parent:
            p = parent[p]
            if p in workers:
                return True
        return False

    for proc in below:
        with contextlib.suppress(psutil.Error):
            c = proc.cpu_times()
            if proc.pid in workers:
                spent["executor workers"] += c.user + c.system
                spent["task processes"] += c.children_user + c.children_system
            elif under_worker(proc.pid):
                spent["task processes"] += c.user + c.system + c.children_user + c.children_system
            else:
                spent["helpers"] += c.user + c.system + c.children_user + c.children_system
    return spent


def _postmasters() -> list[int]:
    """PostgreSQL servers on this machine (their whole trees count: Airflow's metadata queries run there)."""
    found = []
    for proc in psutil.process_iter(["name", "ppid"]):
        try:
            if proc.info["name"] in ("postgres", "postmaster") and \
                    psutil.Process(proc.info["ppid"]).name() not in ("postgres", "postmaster"):
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


@dataclass
class CpuSample:
    at: float
    machine_busy: float
    trees: dict[str, float]


def _sample(stack: Stack) -> CpuSample:
    busy = _machine_busy()
    trees: dict[str, float] = {}
    for name, proc in stack.procs.items():
        spent = _tree_cpu(proc.pid)
        if name == "scheduler":
            trees.update({"scheduler": spent["self"] + spent["helpers"], "executor workers": spent["executor workers"],
                          "task processes": spent["task processes"]})
        else:
            trees[name] = sum(spent.values())
    trees["postgresql"] = sum(sum(_tree_cpu(pid).values()) for pid in _postmasters())
    own = psutil.Process().cpu_times()
    trees["this bench"] = own.user + own.system  # the stack's processes are its children: counted above
    return CpuSample(time.monotonic(), busy, trees)


def _cpu_between(before: CpuSample, after: CpuSample) -> dict[str, Any]:
    wall = after.at - before.at
    trees = {name: round(after.trees.get(name, 0.0) - before.trees.get(name, 0.0), 2) for name in after.trees}
    busy = after.machine_busy - before.machine_busy
    trees["other processes"] = round(max(busy - sum(trees.values()), 0.0), 2)  # anyone else on the machine
    return {"window_s": round(wall, 2), "machine_busy_cores": round(busy / wall, 2), "cpu_s": trees}


# --- the Airflow run ----------------------------------------------------------------------------------------------

def _run_batches(run_id: str) -> list[dict[str, Any]]:
    """The send run's batch descriptors, from the ledger's batch table (what ``plan`` returned)."""
    from esign.composition import workspace_for
    from esign.pipeline.schema import batches

    ws = workspace_for()
    with ws.engine.connect() as conn:
        rows = conn.execute(select(batches.c.id, batches.c.first_id, batches.c.last_id, batches.c.planned)
                            .where(batches.c.run_id == run_id).order_by(batches.c.id)).all()
    return [{"batch_id": r.id, "first_id": r.first_id, "last_id": r.last_id, "count": r.planned} for r in rows]


def _clients_answer(batch_list: list[dict[str, Any]], batch_size: int, smtp_port: int) -> dict[str, Any]:
    """Every client of the run answers, on a pool of PARALLELISM workers, as the pipeline bench does."""
    from bench import pipeline_steps

    from esign.composition import read_settings
    from esign.dispatch.email import SmtpSettings
    from esign.pipeline.config import PipelineConfig
    from esign.pipeline.parallel import StepPool, WorkerSpec

    spec = WorkerSpec(settings=read_settings(), config=PipelineConfig(auto_approve=True, batch_size=batch_size),
                      smtp=SmtpSettings(host="127.0.0.1", port=smtp_port))
    counts = {"signed": 0, "declined": 0}
    start = time.perf_counter()
    with StepPool(spec, PARALLELISM, step_modules=("bench.",)) as pool:
        for result in pool.map(pipeline_steps.clients_answer, batch_list):
            for key in counts:
                counts[key] += int(result.value.get(key, 0))
    return {**counts, "wall_s": round(time.perf_counter() - start, 2)}


@contextmanager
def _airflow_stack(logs: Path, workdir: Path, smtp_port: int, preload: bool) -> Iterator[tuple[Stack, str]]:
    """The stack on a throwaway metadata database; stopped (and the database dropped) however this ends."""
    from tests.prod.postgres import throwaway_database

    with throwaway_database("esign_bench_af") as metadata_url:
        port = free_port()
        env = dict(os.environ)
        env.update(airflow_env(home=workdir / "airflow", port=port, metadata_url=metadata_url,
                               executor="LocalExecutor", parallelism=PARALLELISM, smtp_port=smtp_port))
        env.update({
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",  # esign_collect's cron: only the triggered run
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(logs / "tasks"),
            "ESIGN_SMTP_HOST": "127.0.0.1",
            "ESIGN_SMTP_PORT": str(smtp_port),
        })
        if preload:  # the recommended worker settings: tasks forked from a forkserver with the pipeline loaded
            env.update(WORKER_SETTINGS)
        stack = Stack(env=env, logs=logs, api=f"http://127.0.0.1:{port}")
        try:
            stack.run("airflow-db-migrate", str(BIN / "airflow"), "db", "migrate")
            stack.run("airflow-crm-pool", str(BIN / "airflow"), "pools", "set", "esign_crm", "4",
                      "esign tasks that call the CRM")  # as docker-compose's airflow-init does
            stack.start_airflow(port)
            yield stack, metadata_url
        finally:
            stack.stop()


def run_airflow(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    from esign.dispatch.mailserver import LocalMailServer

    logs, workdir = base / "logs", base / "work"
    started = time.perf_counter()
    seeded = _fresh(workdir, args.deals)
    print(f"airflow: workdir seeded with {seeded} deals in {time.perf_counter() - started:.1f} s", flush=True)
    preload = not args.no_preload
    result: dict[str, Any] = {"seeded": seeded, "preload": preload, "settings": WORKER_SETTINGS if preload else {}}
    conf = {"auto_approve": True, "batch_size": args.batch_size}
    with LocalMailServer(workdir / "mail") as mail, \
            _airflow_stack(logs, workdir, mail.port, preload) as (stack, url):
        api = Api(stack)
        wait_for(api.healthy, 300, "the api-server and a healthy scheduler", interval=2)
        api.login()
        for dag_id in ("esign_send", "esign_collect"):
            wait_for(partial(api.dag_known, dag_id), 300, f"the dag-processor to register {dag_id}", interval=2)
        print(f"airflow: stack up in {time.perf_counter() - started:.1f} s (logs in {_shown(logs)})", flush=True)

        # A deployment's stack has been up for a while: esign_collect has run every 10 minutes. The stack here has
        # just started, and its first task would pay one-time costs a bulk run never sees in production (the
        # api-server builds its execution API on the first call: ~3-6 s, with one slot idle). One collect run with
        # nothing to collect, before anything is measured, is that earlier life.
        api.unpause("esign_collect")
        warm_id = api.run_dag("esign_collect", {}, timeout=args.timeout, interval=2)
        result["warm_up"] = {k: v for k, v in figures(metadata(url, "esign_collect", warm_id), logs).items()
                             if k in ("run_id", "state", "wall_s", "task_instances_run")}
        print(f"airflow: warm-up esign_collect (nothing to collect yet) {result['warm_up']['wall_s']:.1f} s",
              flush=True)

        api.unpause("esign_send")
        before = _sample(stack)
        send_id = api.run_dag("esign_send", conf, timeout=args.timeout, interval=10)  # walls: the metadata
        result["send_cpu"] = _cpu_between(before, _sample(stack))
        result["send"] = figures(metadata(url, "esign_send", send_id), logs)
        print(f"airflow: esign_send {result['send']['wall_s']:.1f} s, "
              f"{result['send']['task_instances_run']} task instances", flush=True)

        batch_list = _run_batches(send_id)
        result["clients"] = _clients_answer(batch_list, args.batch_size, mail.port)
        print(f"airflow: clients answered {result['clients']}", flush=True)

        before = _sample(stack)
        collect_id = api.run_dag("esign_collect", {}, timeout=args.timeout, interval=10)  # walls: the metadata
        result["collect_cpu"] = _cpu_between(before, _sample(stack))
        result["collect"] = figures(metadata(url, "esign_collect", collect_id), logs)
        print(f"airflow: esign_collect {result['collect']['wall_s']:.1f} s, "
              f"{result['collect']['task_instances_run']} task instances", flush=True)
        received = mail.handler.received

    from bench.pipeline_checks import ledger_problems

    from esign.composition import workspace_for

    ws = workspace_for()
    result["stages"] = ws.ledger.stage_counts()
    result["ledger_problems"] = ledger_problems(ws, seeded, received)
    result["emails_received"] = received
    ws.engine.dispose()
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


# --- the direct baseline ------------------------------------------------------------------------------------------

def run_direct(args: argparse.Namespace, base: Path, number: int) -> dict[str, Any]:
    """bench/pipeline_bench.py in a child process, its output teed to the console and logs/direct-<number>.log."""
    out, log_path = base / f"direct-{number}.json", base / "logs" / f"direct-{number}.log"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, str(ROOT / "bench" / "pipeline_bench.py"), "--deals", str(args.deals),
           "--batch-size", str(args.batch_size), "--workers", str(PARALLELISM), "--json", str(out),
           "--workdir", str(base / "direct")]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ESIGN_", "AIRFLOW"))}  # not the Airflow run's
    print(f"direct {number}: {' '.join(['bench/pipeline_bench.py', *cmd[2:cmd.index('--json')]])}", flush=True)
    busy, children, started = _machine_busy(), resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    with log_path.open("w") as log, \
            subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            print(f"  direct {number} | {line}", end="", flush=True)
    if not out.exists():
        raise SystemExit(f"bench/pipeline_bench.py exited with {proc.returncode} and no figures; "
                         f"see {_shown(log_path)}")
    report: dict[str, Any] = json.loads(out.read_text())
    report["exit_code"] = proc.returncode
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    window, busy = time.monotonic() - started, _machine_busy() - busy
    own = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    report["cpu"] = {"window_s": round(window, 2), "machine_busy_cores": round(busy / window, 2),
                     "cpu_s": {"pipeline bench": round(own, 2), "other processes": round(max(busy - own, 0.0), 2)}}
    return {k: report[k] for k in ("chains", "steps", "stages", "ledger_problems", "sample", "workers", "exit_code",
                                   "cpu")}


def _baseline(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The direct runs as one baseline: per chain the mean wall and CPU, each run's wall, and their spread
    ((max - min) / mean): how far the machine's own speed moved during the measurement."""
    chains = {}
    for name in DIRECT_CHAINS:
        walls = [r["chains"][name]["wall_s"] for r in runs]
        cpus = [r["chains"][name]["cpu_s"] for r in runs]
        mean = sum(walls) / len(walls)
        chains[name] = {"wall_s": round(mean, 2), "cpu_s": round(sum(cpus) / len(cpus), 2), "runs_wall_s": walls,
                        "spread": round((max(walls) - min(walls)) / mean, 4) if mean else 0.0}
    return {"chains": chains, "runs": runs}


# --- report -------------------------------------------------------------------------------------------------------

def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _git_version() -> str:
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _overhead(airflow: dict[str, Any], direct: dict[str, Any]) -> dict[str, Any]:
    af = {name: airflow[name]["wall_s"] for name in DIRECT_CHAINS}
    dr = {name: direct["chains"][name]["wall_s"] for name in DIRECT_CHAINS}
    tis = sum(airflow[name]["task_instances_run"] for name in DIRECT_CHAINS)
    overhead = sum(af.values()) - sum(dr.values())
    return {
        "airflow_wall_s": {**af, "total": round(sum(af.values()), 2)},
        "direct_wall_s": {**dr, "total": round(sum(dr.values()), 2)},
        "per_dag_s": {name: round(af[name] - dr[name], 2) for name in DIRECT_CHAINS},
        "overhead_s": round(overhead, 2),
        "share": round(overhead / sum(af.values()), 4) if sum(af.values()) else 0.0,
        "task_instances_run": tis,
        "per_task_instance_s": round(overhead / tis, 3) if tis else 0.0,
        "target_share": 0.05,
    }


def _print_summary(report: dict[str, Any]) -> None:
    airflow, direct, over = report["airflow"], report["direct"], report["overhead"]
    print(f"\nAirflow {report['airflow_version']} LocalExecutor, parallelism {PARALLELISM}: {report['deals']} deals, "
          f"batch size {report['batch_size']}, {report['cpus']} CPUs; "
          + ("recommended worker settings " + ", ".join(f"{k}={v}" for k, v in WORKER_SETTINGS.items())
             if report["preload"] else "Airflow's default worker settings"))
    for name in DIRECT_CHAINS:
        f, cpu = airflow[name], airflow[f"{name}_cpu"]
        print(f"\nesign_{name} run {f['run_id']}: wall {f['wall_s']:.1f} s (trigger -> start "
              f"{f['trigger_to_start_s']:.1f} s, start -> end {f['start_to_end_s']:.1f} s)")
        print(f"  task instances run {f['task_instances_run']} of {f['task_instances']} "
              f"(not run: {', '.join(f['not_run']) or 'none'}; earlier tries {f['earlier_tries']}); "
              f"sum of durations {f['sum_durations_s']:.1f} s = {f['slot_use']:.0%} of {PARALLELISM} slots")
        q, qf = f["queue_delay_s"], f["queue_delay_with_free_worker_s"]
        print(f"  queue delay (queued -> start) mean {q['mean']:.2f} s, max {q['max']:.2f} s; of it with a worker free "
              f"mean {qf['mean']:.2f} s, max {qf['max']:.2f} s; scheduled -> queued mean "
              f"{f['scheduled_to_queued_s']['mean']:.2f} s")
        ph = f["phases_s"]
        print(f"  inside the task instances (from their logs), sum / mean per TI: start-up to first line "
              f"{ph['to_first_line_s']['sum']:.1f} / {ph['to_first_line_s']['mean']:.2f} s, DAG file parse "
              f"{ph['dag_file_parse_s']['sum']:.1f} / {ph['dag_file_parse_s']['mean']:.2f} s, execute "
              f"{ph['execute_s']['sum']:.1f} / {ph['execute_s']['mean']:.2f} s, post-execute "
              f"{ph['post_execute_s']['sum']:.1f} / {ph['post_execute_s']['mean']:.2f} s; after the end, its worker "
              f"still busy {ph['worker_busy_after_end_s']['sum']:.1f} / {ph['worker_busy_after_end_s']['mean']:.2f} s "
              f"(max {ph['worker_busy_after_end_s']['max']:.2f})")
        profile = ", ".join(f"{k} running {v:.1f} s" for k, v in f["running_profile_s"].items())
        print(f"  over the wall: {profile}")
        print(f"  idle (no task running): {f['idle_s']:.1f} s in {f['idle_gaps']} gaps; largest: "
              + "; ".join(f"{g['s']:.2f} s {g['after']} -> {g['before']}" for g in f["largest_idle_gaps"][:4]))
        print("  per task: " + ", ".join(f"{k} x{v['n']} {v['sum']:.1f} s (min {v['min']:.2f}, max "
                                         f"{v['max']:.2f})" for k, v in f["per_task"].items()))
        print(f"  CPU s over the run ({cpu['window_s']:.1f} s, machine busy {cpu['machine_busy_cores']:.2f} cores): "
              + ", ".join(f"{k} {v:.1f}" for k, v in cpu["cpu_s"].items()))
        chain = direct["chains"][name]
        print(f"  direct {name} chain: wall {chain['wall_s']:.1f} s (runs " + " / ".join(
            f"{w:.1f}" for w in chain["runs_wall_s"]) + f", spread {chain['spread']:.1%}), cpu {chain['cpu_s']:.1f} s")
    print()
    for number, run in enumerate(direct["runs"], 1):
        cpu = run["cpu"]
        print(f"direct run {number} (bench/pipeline_bench.py, whole run {cpu['window_s']:.1f} s, machine busy "
              f"{cpu['machine_busy_cores']:.2f} cores): " + ", ".join(f"{k} {v:.1f}" for k, v in cpu["cpu_s"].items()))
    noisy = {w: c["cpu_s"]["other processes"] / c["window_s"]
             for w, c in (("esign_send", airflow["send_cpu"]), ("esign_collect", airflow["collect_cpu"]),
                          *((f"direct {n}", r["cpu"]) for n, r in enumerate(direct["runs"], 1))) if c["window_s"]}
    if any(v > 0.1 for v in noisy.values()):
        print("WARNING: other processes were busy during the measurement (cores): "
              + ", ".join(f"{k} {v:.2f}" for k, v in noisy.items()) + "; the figures are disturbed")
    print(f"clients answered between the runs: {airflow['clients']}; warm-up before them: {airflow['warm_up']}")
    print(f"stages  airflow: {airflow['stages']}\n        direct:  "
          + "; ".join(str(r["stages"]) for r in direct["runs"]))
    print(f"exactly-once problems  airflow: {airflow['ledger_problems'] or 'none'}; direct: "
          + "; ".join(str(r["ledger_problems"] or "none") for r in direct["runs"]))
    print(f"\nAirflow wall {over['airflow_wall_s']['total']:.1f} s (send {over['airflow_wall_s']['send']:.1f} + "
          f"collect {over['airflow_wall_s']['collect']:.1f}), direct {over['direct_wall_s']['total']:.1f} s "
          f"(send {over['direct_wall_s']['send']:.1f} + collect {over['direct_wall_s']['collect']:.1f})")
    print(f"overhead {over['overhead_s']:.1f} s = {over['share']:.1%} of the Airflow total (target < 5%); "
          f"{over['overhead_s'] / max(over['task_instances_run'], 1):.2f} s per task instance "
          f"({over['task_instances_run']} run)")
    drift = max(direct["chains"][name]["spread"] for name in DIRECT_CHAINS)
    if len(direct["runs"]) > 1 and drift > abs(over["share"]):
        print(f"NOTE: the direct runs before and after differ by up to {drift:.1%} per chain, more than the overhead: "
              f"the machine's own speed moved during the measurement; repeat it to tell them apart")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=2500)
    parser.add_argument("--timeout", type=float, default=0, help="seconds per DAG run (default 1800 + 0.5 per deal)")
    parser.add_argument("--keep", action="store_true", help="keep the Airflow run's workdir (var/bench/airflow/work)")
    parser.add_argument("--direct-runs", type=int, choices=(1, 2), default=2,
                        help="2: the direct baseline before and after the Airflow run (their mean; a machine whose "
                             "speed drifts moves both), 1: after it only")
    parser.add_argument("--no-preload", action="store_true",
                        help="a variant: Airflow's default worker settings instead of the recommended ones "
                             "(forkserver preloading esign.hooks.worker_preload, 1 s supervisor heartbeat)")
    args = parser.parse_args()
    args.timeout = args.timeout or 1800 + 0.5 * args.deals
    base = ROOT / "var" / "bench" / "airflow"
    base.mkdir(parents=True, exist_ok=True)
    at = datetime.now(UTC)
    load_before = os.getloadavg()
    print(f"airflow overhead: {args.deals} deals, batch size {args.batch_size}, load {load_before[0]:.2f}", flush=True)
    import pytest

    shutil.rmtree(base / "logs", ignore_errors=True)
    (base / "logs").mkdir(parents=True)
    runs = [run_direct(args, base, 1)] if args.direct_runs == 2 else []
    try:
        airflow = run_airflow(args, base)
    except (StackError, TimeoutError) as exc:
        print(f"the Airflow run failed: {exc}", file=sys.stderr)
        return 1
    except pytest.skip.Exception as exc:  # tests.prod.postgres: no PostgreSQL server
        print(f"no metadata database: {exc}", file=sys.stderr)
        return 2
    runs.append(run_direct(args, base, len(runs) + 1))
    direct = _baseline(runs)
    from importlib.metadata import version

    report = {
        "at": at.isoformat(), "version": _git_version(), "airflow_version": version("apache-airflow"),
        "executor": "LocalExecutor", "parallelism": PARALLELISM, "preload": airflow["preload"],
        "deals": args.deals, "batch_size": args.batch_size, "cpus": os.cpu_count(),
        "load_before": load_before, "load_after": os.getloadavg(), "airflow": airflow,
        "direct": direct,
        "overhead": _overhead(airflow, direct),
    }
    _print_summary(report)
    path = ROOT / "var" / "bench" / f"airflow-overhead-{at:%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print(f"figures written to {_shown(path)}")
    failed = airflow["ledger_problems"] or any(r["exit_code"] != 0 for r in runs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
