"""A bounded run of bench/load_portal.py: concurrent clients sign through the real pages under uvicorn.

Asserts behaviour only (no errors, no lost events); the figures are printed by the script itself.
"""

from __future__ import annotations

from pathlib import Path

from bench.load_portal import EXPECTED_EVENTS, run_load


def test_concurrent_clients_all_sign_with_no_errors_and_no_lost_events(tmp_path: Path) -> None:
    report = run_load(tmp_path, clients=40, concurrency=20)
    assert report.errors == []
    assert report.lost == []
    assert report.requests == 40 * 5
    assert set(report.latencies) == {"open", "code", "verify", "sign", "done"}
    assert EXPECTED_EVENTS == ("viewed", "code_sent", "code_verified", "client_signed")
