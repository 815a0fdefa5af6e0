"""The sandbox: a child with a memory and a time limit per file, a bounded number of children, the same verdict."""

from __future__ import annotations

from pathlib import Path

from esign.verify.sandbox import MEMORY_LIMIT_BYTES, TIME_LIMIT_SECONDS, Sandbox
from esign.workspace import Workspace
from tests.verify.hostile import CATALOG, NO_PAGES, pdf_bytes

MANY_KEYS = pdf_bytes([(1, b"<< /Type /Catalog /Pages 2 0 R " + b"".join(b"/K%d 1 " % i for i in range(1_000_000))
                        + b">>"), NO_PAGES])


def test_defaults_are_the_promised_bounds() -> None:
    assert TIME_LIMIT_SECONDS <= 10 and MEMORY_LIMIT_BYTES == 512 * 1024 * 1024


def test_running_out_of_memory_is_too_complex(core_ws: Workspace) -> None:
    sandbox = Sandbox(time_limit=60.0, memory_limit=160 * 1024 * 1024)  # ~55 MiB above the child's base
    exam = sandbox.examine(MANY_KEYS, core_ws.trust_roots)
    assert exam.refused is not None and exam.refused.code == "too_complex"
    assert sandbox.last is not None and sandbox.last.outcome in ("memory", "crashed")
    assert sandbox.last.seconds < 60  # stopped by the memory limit, not by the clock


def test_running_out_of_time_is_too_complex(core_ws: Workspace) -> None:
    sandbox = Sandbox(time_limit=1.0)
    exam = sandbox.examine(MANY_KEYS, core_ws.trust_roots)
    assert exam.refused is not None and exam.refused.code == "too_complex"
    assert sandbox.last is not None and sandbox.last.outcome in ("timeout", "crashed")


def test_no_free_slot_within_the_limit_is_busy(core_ws: Workspace) -> None:
    sandbox = Sandbox(time_limit=0.2, parallel=1)
    assert sandbox._slots.acquire()  # another caller holds the only slot
    try:
        exam = sandbox.examine(pdf_bytes([CATALOG, NO_PAGES]), core_ws.trust_roots)
    finally:
        sandbox._slots.release()
    assert exam.refused is not None and exam.refused.code == "busy"


def test_a_completed_document_examined_in_the_child(core_ws: Workspace, completed: tuple[str, Path]) -> None:
    sandbox = Sandbox()
    exam = sandbox.examine(completed[1].read_bytes(), core_ws.trust_roots)
    assert exam.refused is None and exam.document_id == completed[0]
    assert [c.ok for c in exam.scan.checks] == [True] and not exam.scan.problems
    assert sandbox.last is not None and sandbox.last.outcome == "ok"
    assert sandbox.last.peak_rss_bytes is not None and sandbox.last.peak_rss_bytes < MEMORY_LIMIT_BYTES
