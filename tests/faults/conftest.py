"""The campaign's report: every scenario adds a row; the session writes var/faults/report.md and prints the tables
at the end of the run (the crash campaign as kill point x resume mode, then the faults). A scenario that fails adds
its row with the failure."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import PROJECT_DIR

REPORT = PROJECT_DIR / "var" / "faults" / "report.md"

OPEN_ISSUES = [
    "- A worker killed after the relay accepted a message and before the outbox marked it leaves that one row "
    "`sending`; `esign_collect` turns it `uncertain` after 15 minutes (counted sent, never re-sent). Until then "
    "its document stays `company_signed` and the next esign_send does not count it as owed. One message at most "
    "per dead worker: every other row is `sent` or still `pending`.",
    "- A worker killed between a CRM comment and its mark leaves the write-back pending: the next run finds the "
    "comment's marker on the deal's timeline and does not post it again; two runs writing back one document at once "
    "take turns (per-document locks, PostgreSQL). Every kill point above checks that no comment appears twice.",
    "- Two esign_send runs at once (Airflow's `max_active_runs=1` prevents it; `esign run` does not): the second "
    "takes over the first one's fresh batches and the first leaves them to it (the holder approves and finishes "
    "them); a run may still fail loudly when the other is sending the same batch's invitations at that moment.",
]
MODES = ("same run id", "new run id")


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


@dataclass
class FaultReport:
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    #: (chain, kill point, hit) -> resume mode -> outcome
    crashes: dict[tuple[str, str, int], dict[str, str]] = field(default_factory=dict)

    def add(self, area: str, scenario: str, outcome: str) -> None:
        self.rows.append((area, scenario, _cell(outcome)))

    def crash(self, chain: str, kill: str, hit: int, mode: str, outcome: str) -> None:
        self.crashes.setdefault((chain, kill, hit), {})[mode] = _cell(outcome)

    def markdown(self) -> str:
        lines = ["# Crash and fault campaign", ""]
        if self.crashes:
            lines += ["## SIGKILL at each step, then resumed", "",
                      "| chain | kill point (hit) | " + " | ".join(MODES) + " |", "|---|---|" + "---|" * len(MODES)]
            lines += [f"| {chain} | {kill} ({hit}) | " + " | ".join(cells.get(m, "-") for m in MODES) + " |"
                      for (chain, kill, hit), cells in self.crashes.items()]
            lines.append("")
        if self.rows:
            lines += ["## Other scenarios", "", "| area | scenario | outcome |", "|---|---|---|"]
            lines += [f"| {a} | {s} | {o} |" for a, s, o in self.rows]
        lines += ["", "## Open issues", "", *OPEN_ISSUES]
        return "\n".join(lines) + "\n"


_report = FaultReport()


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Iterator[FaultReport]:
    def size() -> int:
        return len(_report.rows) + sum(len(cells) for cells in _report.crashes.values())

    before = size()
    yield _report
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed and size() == before:
        message = str(failed.longrepr).strip().splitlines()[-1][:300] if failed.longrepr else "failed"
        area = "crash" if "crash" in request.node.module.__name__ else "fault"
        _report.add(area, request.node.name, f"FAILED: {message}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    rep = yield
    if rep.when == "call":
        item.rep_call = rep  # type: ignore[attr-defined]
    return rep


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not _report.rows and not _report.crashes:
        return
    path = Path(REPORT)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_report.markdown(), encoding="utf-8")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _report.rows or _report.crashes:
        terminalreporter.section("crash and fault campaign")
        for (chain, kill, hit), cells in _report.crashes.items():
            for mode, outcome in cells.items():
                terminalreporter.write_line(f"{chain:7} {kill + f' ({hit})':28} {mode:12} {outcome}")
        for area, scenario, outcome in _report.rows:
            terminalreporter.write_line(f"{area:8} {scenario:44} {outcome}")
        terminalreporter.write_line(f"(written to {REPORT.relative_to(PROJECT_DIR)})")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: crash and fault campaigns (real processes killed, servers failing)")
