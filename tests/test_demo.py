"""`esign demo` end to end, as `make demo` runs it: every simulated client gets through.

24 deals give more clients than one IP may post codes for in a minute, so the demo's own limits are exercised.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import PROJECT_DIR

pytestmark = pytest.mark.airflow


def test_demo_runs_the_whole_loop(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ESIGN_"))}
    env["ESIGN_REPORTS_DIR"] = str(tmp_path / "reports")
    result = subprocess.run([sys.executable, "-m", "esign.cli", "demo", "--deals", "24", "--workdir",
                             str(tmp_path / "var")], cwd=PROJECT_DIR, env=env, capture_output=True, text=True,
                            timeout=600, check=False)
    out = result.stdout
    assert result.returncode == 0, out[-4000:] + result.stderr[-4000:]
    assert "client errors" not in out and "no link received" not in out, out
    verified = re.search(r"Completed PDFs verified \(esign verify \+ pdfsig\): (\d+)/(\d+)", out)
    assert verified and verified.group(1) == verified.group(2) and int(verified.group(1)) >= 5, out
    assert "quarantined" in out and "Quarantined deals" in out
    reports = sorted((tmp_path / "reports").rglob("*.html"))
    assert len(reports) == 2, reports
    completed = list((tmp_path / "var" / "documents" / "completed").glob("DOC-*.pdf"))
    assert len(completed) == int(verified.group(1))
