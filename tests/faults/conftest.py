"""The campaign's report: every scenario adds a row (scenario, outcome); the session writes var/faults/report.md
and prints the table at the end of the run. A scenario that fails adds its row with the failure."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import PROJECT_DIR

REPORT = PROJECT_DIR / "var" / "faults" / "report.md"

OPEN_ISSUES = [
    "- A worker killed after the server accepted one message leaves the rows of the group it had claimed "
    "`sending` (at most `claim_every`, 10 by default, of a batch; the rest stay pending and go out with the "
    "retry); recovery makes the group `uncertain` (counted sent, never re-sent), so a client in that group whose "
    "message was never handed over gets no invitation until a reminder or an operator's resend. Claiming one row "
    "at a time would leave only the one really in doubt, at one more transaction per message.",
]


@dataclass
class FaultReport:
    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, area: str, scenario: str, outcome: str) -> None:
        self.rows.append((area, scenario, outcome.replace("|", "/").replace("\n", " ")))

    def markdown(self) -> str:
        lines = ["# Crash and fault campaign", "", "| area | scenario | outcome |", "|---|---|---|"]
        lines += [f"| {a} | {s} | {o} |" for a, s, o in self.rows]
        lines += ["", "## Open issues", "", *OPEN_ISSUES]
        return "\n".join(lines) + "\n"


_report = FaultReport()


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Iterator[FaultReport]:
    before = len(_report.rows)
    yield _report
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed and len(_report.rows) == before:
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
    if not _report.rows:
        return
    path = Path(REPORT)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_report.markdown(), encoding="utf-8")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _report.rows:
        terminalreporter.section("crash and fault campaign")
        for area, scenario, outcome in _report.rows:
            terminalreporter.write_line(f"{area:8} {scenario:44} {outcome}")
        terminalreporter.write_line(f"(written to {REPORT.relative_to(PROJECT_DIR)})")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: crash and fault campaigns (real processes killed, servers failing)")
