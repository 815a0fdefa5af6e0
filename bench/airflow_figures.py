"""What one DAG run looked like, from Airflow's metadata database and logs: walls, task instances, queue delays,
the concurrency profile, idle gaps, and each task instance's time split from its task log.

Used by ``bench/airflow_overhead.py``; nothing here runs or changes Airflow.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

#: Airflow's task slots in the measured stack (``[core] parallelism``; the direct baseline's pool has as many).
PARALLELISM = 2

def metadata(url: str, dag_id: str, run_id: str) -> dict[str, Any]:
    """One DAG run and its task instances from the metadata database; other runs of the DAG are counted."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            run = conn.execute(text(
                "SELECT dag_id, run_id, run_type, state, queued_at, start_date, end_date FROM dag_run "
                "WHERE dag_id = :d AND run_id = :r"), {"d": dag_id, "r": run_id}).mappings().one()
            others = conn.execute(text("SELECT count(*) FROM dag_run WHERE dag_id = :d AND run_id <> :r"),
                                  {"d": dag_id, "r": run_id}).scalar_one()
            tis = conn.execute(text(
                "SELECT CAST(id AS TEXT) AS id, run_id, task_id, map_index, state, try_number, scheduled_dttm, "
                "queued_dttm, start_date, end_date, duration FROM task_instance WHERE dag_id = :d AND run_id = :r "
                "ORDER BY start_date, task_id, map_index"), {"d": dag_id, "r": run_id}).mappings().all()
            retried = conn.execute(text(
                "SELECT count(*) FROM task_instance_history WHERE dag_id = :d AND run_id = :r"),
                {"d": dag_id, "r": run_id}).scalar_one()
    finally:
        engine.dispose()
    return {"run": dict(run), "other_runs": int(others), "tis": [dict(t) for t in tis], "earlier_tries": int(retried)}


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    return (b - a).total_seconds() if a is not None and b is not None else None


def _label(ti: dict[str, Any]) -> str:
    return str(ti["task_id"]) + (f"[{ti['map_index']}]" if ti["map_index"] >= 0 else "")


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0, "sum": 0.0, "mean": 0.0, "min": 0.0, "max": 0.0}
    return {"n": len(values), "sum": round(sum(values), 3), "mean": round(sum(values) / len(values), 3),
            "min": round(min(values), 3), "max": round(max(values), 3)}


class Timeline:
    """How many intervals (task instances running, workers busy) are open at each moment (seconds from the
    trigger)."""

    def __init__(self, origin: datetime, intervals: list[tuple[datetime, datetime]]) -> None:
        self.origin = origin
        edges = sorted([(self.at(a), 1) for a, _ in intervals] + [(self.at(b), -1) for _, b in intervals])
        self.steps: list[tuple[float, int]] = []  # (from, running) pieces, in order
        running = 0
        for at, change in edges:
            running += change
            self.steps.append((at, running))

    def at(self, moment: datetime) -> float:
        return (moment - self.origin).total_seconds()

    def profile(self, end: float) -> dict[int, float]:
        """Seconds with 0, 1, 2... task instances running, from the trigger to ``end``."""
        spent: dict[int, float] = {}
        last, running = 0.0, 0
        for at, now_running in [*self.steps, (end, 0)]:
            spent[running] = spent.get(running, 0.0) + max(at - last, 0.0)
            last, running = max(at, last), now_running
        return spent

    def below(self, start: float, end: float, slots: int) -> float:
        """Seconds of [start, end] with fewer than ``slots`` intervals open (a slot was free)."""
        free, last, running = 0.0, 0.0, 0
        for at, now_running in [*self.steps, (float("inf"), 0)]:
            lo, hi = max(last, start), min(at, end)
            if hi > lo and running < slots:
                free += hi - lo
            last, running = at, now_running
        return free


def _task_log(logs: Path, dag_id: str, ti: dict[str, Any]) -> dict[str, float]:
    """Where a task instance's time went, from its task log (JSON lines): the task process's start-up until its
    first line, the DAG file parse (Airflow's own ``dag_file_parse_ms``), the execute phase (the esign step,
    building the process's Services included), and from "Post Execute" (XCom push, state) to the end."""
    folder = logs / "tasks" / f"dag_id={dag_id}" / f"run_id={ti['run_id']}" / f"task_id={ti['task_id']}"
    if ti["map_index"] >= 0:
        folder = folder / f"map_index={ti['map_index']}"
    path = folder / f"attempt={ti['try_number']}.log"
    if not path.exists() or ti["start_date"] is None or ti["end_date"] is None:
        return {}
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError, KeyError):
            line = json.loads(raw)
            lines.append((datetime.fromisoformat(line["timestamp"]), line))
    if not lines:
        return {}
    parsed = next(((at, line) for at, line in lines if line.get("event") == "Worker startup parse complete"), None)
    post = next((at for at, line in lines if line.get("event") == "::group::Post Execute"), None)
    found: dict[str, float] = {"to_first_line_s": (lines[0][0] - ti["start_date"]).total_seconds()}
    if parsed is not None:
        found["dag_file_parse_s"] = float(parsed[1].get("dag_file_parse_ms", 0)) / 1000
        if post is not None:
            found["execute_s"] = (post - parsed[0]).total_seconds()
    if post is not None:
        found["post_execute_s"] = (ti["end_date"] - post).total_seconds()
    return found


def _workloads_finished(logs: Path) -> dict[str, datetime]:
    """When each LocalExecutor worker was done with a task instance (its "Workload finished" line in the
    scheduler's log, by task instance ID): the worker is busy until then, not only until the TI's end."""
    done: dict[str, datetime] = {}
    log = logs / "scheduler.log"
    if not log.exists():
        return done
    for line in log.read_text(errors="replace").splitlines():
        if "Workload finished" in line and "workload_id=" in line:
            with contextlib.suppress(ValueError, IndexError):
                at = datetime.fromisoformat(line.split(" ", 1)[0])
                done[line.split("workload_id=", 1)[1].split()[0]] = at
    return done


def figures(meta: dict[str, Any], logs: Path) -> dict[str, Any]:
    """Walls, task instances, queue delays, the concurrency profile, idle gaps and per-phase time of one run."""
    run, tis = meta["run"], meta["tis"]
    ran = [t for t in tis if t["state"] in ("success", "failed") and t["start_date"] and t["end_date"]]
    wall = _seconds(run["queued_at"], run["end_date"]) or 0.0
    timeline = Timeline(run["queued_at"], [(t["start_date"], t["end_date"]) for t in ran])
    finished = _workloads_finished(logs)
    # a LocalExecutor worker takes the next task instance only once it is done with the last one
    busy = [(t["start_date"], max(t["end_date"], finished.get(str(t["id"]), t["end_date"]))) for t in ran]
    workers = Timeline(run["queued_at"], busy)
    queue, queue_free, sched = [], [], []
    for t in ran:
        if t["queued_dttm"] is not None:
            queue.append((t["start_date"] - t["queued_dttm"]).total_seconds())
            queue_free.append(workers.below(workers.at(t["queued_dttm"]), workers.at(t["start_date"]), PARALLELISM))
        if t["scheduled_dttm"] is not None and t["queued_dttm"] is not None:
            sched.append((t["queued_dttm"] - t["scheduled_dttm"]).total_seconds())
    durations = [float(t["duration"] or 0.0) for t in ran]
    # idle gaps: no task instance running, between the trigger and the run's end
    gaps: list[dict[str, Any]] = []
    cursor, before = run["queued_at"], "trigger"
    for t in sorted(ran, key=lambda t: t["start_date"]):
        gap = _seconds(cursor, t["start_date"]) or 0.0
        if gap > 0:
            gaps.append({"s": round(gap, 3), "after": before, "before": _label(t)})
        if t["end_date"] > cursor:
            cursor, before = t["end_date"], _label(t)
    tail = _seconds(cursor, run["end_date"]) or 0.0
    if tail > 0:
        gaps.append({"s": round(tail, 3), "after": before, "before": "run end"})
    phases = [_task_log(logs, run["dag_id"], t) for t in ran]
    for t, phase in zip(ran, phases, strict=True):
        if str(t["id"]) in finished:
            phase["worker_busy_after_end_s"] = (finished[str(t["id"])] - t["end_date"]).total_seconds()
    by_task: dict[str, list[float]] = {}
    for t, d in zip(ran, durations, strict=True):
        by_task.setdefault(t["task_id"], []).append(d)
    return {
        "run_id": run["run_id"], "state": run["state"], "other_runs_of_dag": meta["other_runs"],
        "queued_at": run["queued_at"], "start_date": run["start_date"], "end_date": run["end_date"],
        "wall_s": round(wall, 3), "start_to_end_s": round(_seconds(run["start_date"], run["end_date"]) or 0.0, 3),
        "trigger_to_start_s": round(_seconds(run["queued_at"], run["start_date"]) or 0.0, 3),
        "task_instances": len(tis), "task_instances_run": len(ran), "earlier_tries": meta["earlier_tries"],
        "not_run": sorted(f"{_label(t)}: {t['state']}" for t in tis if t not in ran),
        "sum_durations_s": round(sum(durations), 3),
        "slot_use": round(sum(durations) / (PARALLELISM * wall), 3) if wall else 0.0,
        "queue_delay_s": _stats(queue),
        "queue_delay_with_free_worker_s": _stats(queue_free),
        "scheduled_to_queued_s": _stats(sched),
        "running_profile_s": {str(k): round(v, 3) for k, v in sorted(timeline.profile(wall).items())},
        "idle_s": round(sum(g["s"] for g in gaps), 3), "idle_gaps": len(gaps),
        "largest_idle_gaps": sorted(gaps, key=lambda g: -g["s"])[:6],
        "phases_s": {name: _stats([p[name] for p in phases if name in p])
                     for name in ("to_first_line_s", "dag_file_parse_s", "execute_s", "post_execute_s",
                                  "worker_busy_after_end_s")},
        "per_task": {k: _stats(v) for k, v in by_task.items()},
        "task_instance_list": [{"task": _label(t), "state": t["state"], "try": t["try_number"],
                                "scheduled": t["scheduled_dttm"], "queued": t["queued_dttm"],
                                "start": t["start_date"], "end": t["end_date"], "duration_s": t["duration"],
                                "queue_delay_s": _seconds(t["queued_dttm"], t["start_date"]),
                                **phase}
                               for t, phase in zip(tis, _align(tis, ran, phases), strict=True)],
    }


def _align(tis: list[dict[str, Any]], ran: list[dict[str, Any]], phases: list[dict[str, float]]) \
        -> list[dict[str, float]]:
    """``phases`` (one per task instance run) laid out along ``tis`` (empty for those not run)."""
    by_id = {id(t): p for t, p in zip(ran, phases, strict=True)}
    return [by_id.get(id(t), {}) for t in tis]
