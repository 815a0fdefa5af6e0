"""A second opinion from a validator nobody here wrote: poppler's ``pdfsig``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

VALID = "Signature Validation: Signature is Valid."
WHOLE = "Total document signed"


def pdfsig_available() -> bool:
    return shutil.which("pdfsig") is not None


def pdfsig_problem(path: Path) -> str | None:
    """None when every signature pdfsig finds is valid and covers the whole file; else what it printed.

    pdfsig reports the company's self-signed CA as "issuer isn't Trusted": that line is expected and not a problem.
    """
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False, timeout=60).stdout
    if VALID in out and WHOLE in out:
        return None
    return " ".join(out.split())[:300] or "pdfsig printed nothing"
