"""Airflow's own overhead on a send run: the esign_send DAG through ``dag.test()`` vs the same steps without it.

``.venv/bin/python bench/airflow_overhead.py [--deals 100] [--batch-size 20]``. Both runs start from the same
fresh workdir (same seeded deals, keys, local SMTP server) in a child process each: one runs
``python -m esign.hooks.dag_runner esign_send`` (Airflow metadata DB init, DAG parsing, one task instance per
step and mapped batch), the other runs the same ``esign.pipeline.send`` functions in order without Airflow.
The difference, divided by the number of task instances, is Airflow's cost per task; the 10,000-deal estimate
is that cost times the task instances such a run has, over the bench's measured pipeline wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUN_DIRECT = """
import sys, time
from esign.pipeline.services import services_for
from esign.pipeline import send
services = services_for({"auto_approve": True, "batch_size": int(sys.argv[1])})
batches = send.plan_batches(services, "direct")
for batch in batches:
    send.prepare_batch(services, batch)
send.summarize_run(services, "direct")
send.approve_run(services, "direct", "bench")
for batch in batches:
    send.sign_batch(services, batch)
for batch in batches:
    send.dispatch_batch(services, batch)
for batch in batches:
    send.mark_awaiting(services, batch)
"""


def _fresh(workdir: Path, deals: int) -> dict[str, str]:
    """A fresh embedded workdir with keys and seeded deals; the environment for both children."""
    if workdir.exists():
        shutil.rmtree(workdir)
    from esign.demo import environment

    environment.configure(workdir, ROOT)
    from esign.config import Settings, key_passphrase
    from esign.crm.seed import seed_demo
    from esign.signing import init_keys
    from esign.workspace import Workspace

    settings = Settings.from_env()
    ws = Workspace(settings)
    company = ws.company
    init_keys(settings.keys_dir, key_passphrase(), company_name=company.party.name,
              director_name=company.director_name, director_title=company.director_title)
    seed_demo(ws.engine, deals, rng_seed=7)
    ws.engine.dispose()
    return dict(os.environ)


def _timed(cmd: list[str], env: dict[str, str], log: Path) -> float:
    start = time.perf_counter()
    with log.open("w") as out:
        code = subprocess.call(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed, see {log}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deals", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--bench-json", type=Path, help="a pipeline bench JSON for the 10,000-deal estimate")
    args = parser.parse_args()
    from esign.dispatch.mailserver import LocalMailServer

    base = ROOT / "var" / "bench" / "airflow"
    results: dict[str, float] = {}
    for mode in ("airflow", "direct"):
        workdir = base / mode
        env = _fresh(workdir, args.deals)
        with LocalMailServer(workdir / "mail") as mail:
            env.update(ESIGN_SMTP_HOST="127.0.0.1", ESIGN_SMTP_PORT=str(mail.port))
            if mode == "airflow":
                conf = json.dumps({"auto_approve": True, "batch_size": args.batch_size})
                cmd = [sys.executable, "-m", "esign.hooks.dag_runner", "esign_send", conf]
            else:
                cmd = [sys.executable, "-c", RUN_DIRECT, str(args.batch_size)]
            results[mode] = _timed(cmd, env, workdir / f"{mode}.log")
        print(f"{mode}: {results[mode]:.1f} s", flush=True)
    db = base / "airflow" / "airflow" / "airflow.db"
    with sqlite3.connect(db) as conn:
        tasks = int(conn.execute("SELECT count(*) FROM task_instance").fetchone()[0])
    overhead = results["airflow"] - results["direct"]
    per_task = overhead / tasks
    report = {"deals": args.deals, "batch_size": args.batch_size, "airflow_s": round(results["airflow"], 2),
              "direct_s": round(results["direct"], 2), "task_instances": tasks, "overhead_s": round(overhead, 2),
              "overhead_per_task_s": round(per_task, 3)}
    if args.bench_json:
        bench = json.loads(args.bench_json.read_text())
        batches = -(-bench["deals"] // bench["batch_size"])
        big_tasks = 4 * batches + (tasks - 4 * -(-args.deals // args.batch_size))  # mapped steps + fixed tasks
        wall = bench["chains"]["send"]["wall_s"]
        report.update(estimate_deals=bench["deals"], estimate_tasks=big_tasks,
                      estimate_overhead_s=round(per_task * big_tasks, 1),
                      estimate_share=round(per_task * big_tasks / (wall + per_task * big_tasks), 3))
    print(json.dumps(report, indent=2))
    (ROOT / "var" / "bench" / "airflow-overhead.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
