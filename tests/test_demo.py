"""`esign demo` end to end, as `make demo` runs it: every simulated client gets through, and the links it sent keep
working after it: the demo keeps its portal up until Ctrl-C, and `esign portal` alone serves them later.

24 deals give more clients than one IP may post codes for in a minute, so the demo's own limits are exercised.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select

from esign.cli import EXIT_USAGE, main
from esign.demo.inbox import _LINK
from esign.demo.servers import free_port
from esign.dispatch.mailserver import read_messages
from esign.dispatch.records import message_id_for
from esign.pipeline.final_copy import client_key
from esign.requests.schema import signing_requests
from tests.reporting.page_text import english_left
from tests.support import PROJECT_DIR

SERVING = "Ctrl-C stops it."


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ESIGN_"))}
    env["ESIGN_REPORTS_DIR"] = str(tmp_path / "reports")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _until(check: Callable[[], bool], proc: subprocess.Popen[str], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not come up in {timeout} s")
        time.sleep(0.2)


def _statuses(links: list[str]) -> dict[str, int]:
    with httpx.Client(timeout=10) as client:
        return {link: client.get(link).status_code for link in links}


@pytest.mark.airflow
def test_demo_runs_the_whole_loop_then_keeps_its_links_working(tmp_path: Path) -> None:
    env, var, port = _clean_env(tmp_path), tmp_path / "var", free_port()
    stderr = (tmp_path / "demo.err").open("w")
    demo = subprocess.Popen([sys.executable, "-m", "esign.cli", "demo", "--deals", "24", "--workdir", str(var),
                             "--port", str(port)], cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE,
                            stderr=stderr, text=True)
    assert demo.stdout is not None
    lines: list[str] = []
    try:
        for line in demo.stdout:  # until the demo says it keeps serving (or ends)
            lines.append(line)
            if SERVING in line:
                break
        out = "".join(lines)
        assert SERVING in out, out[-4000:] + (tmp_path / "demo.err").read_text()[-4000:]
        links = sorted({m.group(0) for msg in read_messages(var / "mail") for m in _LINK.finditer(msg.text)})
        assert links and all(link.startswith(f"http://127.0.0.1:{port}/s/") for link in links)
        statuses = _statuses(links)
        assert 200 in statuses.values(), statuses  # the clients who never opened theirs still can
        completed = sorted((var / "documents" / "completed").glob("DOC-*.pdf"))
        with httpx.Client(timeout=10) as client:
            assert client.get(f"http://127.0.0.1:{port}/verify/{completed[0].stem}").status_code == 200
    finally:
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=120)
        stderr.close()
    out = "".join(lines) + rest
    assert demo.returncode == 0, out[-4000:] + (tmp_path / "demo.err").read_text()[-4000:]
    assert "client errors" not in out and "no link received" not in out, out
    verified = re.search(r"Completed PDFs verified \(esign verify \+ pdfsig\): (\d+)/(\d+)", out)
    assert verified and verified.group(1) == verified.group(2) and int(verified.group(1)) >= 5, out
    assert "quarantined" in out and "Quarantined deals" in out
    reports = sorted((tmp_path / "reports").rglob("*.html"))
    assert len(reports) == 2, reports
    assert {report.name: english_left(report, "pt_BR") for report in reports} == {r.name: [] for r in reports}
    assert len(completed) == int(verified.group(1))
    _assert_each_client_got_one_final_copy(var, [path.stem for path in completed])
    _assert_managers_read_why_clients_declined(var)

    # later, `esign portal` alone (no secret in the environment) serves the same links from the demo's keys folder
    portal_env = dict(_clean_env(tmp_path), ESIGN_HOME=str(var))
    portal = subprocess.Popen([sys.executable, "-m", "esign.cli", "portal", "--port", str(port)], cwd=PROJECT_DIR,
                              env=portal_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        _until(lambda: httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200, portal,
               "esign portal")
        assert _statuses(links) == statuses
    finally:
        portal.terminate()
        portal.wait(30)


def _assert_each_client_got_one_final_copy(var: Path, document_ids: list[str]) -> None:
    """Every completed document reached its client, at the address its link went to, as exactly one final copy."""
    engine = create_engine(f"sqlite:///{var / 'esign.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(signing_requests.c.document_id, signing_requests.c.destination)
                                .where(signing_requests.c.status == "signed", signing_requests.c.signer == 1))
            destination = {str(r.document_id): str(r.destination) for r in rows}
    finally:
        engine.dispose()
    received: dict[str, list[str]] = {}
    for message in read_messages(var / "mail"):
        received.setdefault(message.header("Message-ID"), []).append(message.header("To"))
    sms_file = var / "sms" / "outbox.jsonl"
    for line in sms_file.read_text(encoding="utf-8").splitlines() if sms_file.exists() else []:
        record = json.loads(line)
        received.setdefault(str(record.get("reference")), []).append(str(record.get("to")))
    for doc in document_ids:
        to = received.get(message_id_for(client_key(doc)), [])
        assert len(to) == 1 and destination[doc].lower() in to[0].lower(), (doc, destination.get(doc), to)


def _assert_managers_read_why_clients_declined(var: Path) -> None:
    """The demo's rule e-mails each declined document's manager: in Portuguese, with the reason and the links."""
    engine = create_engine(f"sqlite:///{var / 'esign.db'}")
    try:
        with engine.connect() as conn:
            declined = conn.execute(select(signing_requests.c.document_id, signing_requests.c.decline_reason)
                                    .where(signing_requests.c.status == "declined")).all()
    finally:
        engine.dispose()
    assert declined
    texts = [m.text for m in read_messages(var / "mail")]
    for doc, reason in declined:
        told = [t for t in texts if f"/staff/documents/{doc}" in t]
        assert len(told) == 1, (doc, len(told))
        assert f"Motivo informado pelo cliente: {reason}" in told[0] and f"/verify/{doc}" in told[0], told[0]


def test_a_busy_port_stops_the_demo_before_it_touches_the_workdir(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Another demo (or `esign portal`) still serving there would take the links; its workdir is left alone."""
    monkeypatch.chdir(PROJECT_DIR)
    kept = tmp_path / "var" / "esign.db"
    kept.parent.mkdir()
    kept.write_bytes(b"a running demo's ledger")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["demo", "--deals", "5", "--workdir", str(tmp_path / "var"), "--port", str(port)]) == EXIT_USAGE
    assert f"port {port} is in use" in capsys.readouterr().err
    assert kept.read_bytes() == b"a running demo's ledger"
