"""A second opinion from a validator nobody here wrote: poppler's ``pdfsig``.

pdfsig checks certificates against an NSS database. Given the company's trust roots, a database trusting them is
made once per process (NSS's ``certutil``, in a private temporary folder), so pdfsig can say "Certificate is
Trusted" instead of "issuer isn't Trusted"; without ``certutil`` the trust line is not required.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

VALID = "Signature Validation: Signature is Valid."
WHOLE = "Total document signed"
TRUSTED = "Certificate Validation: Certificate is Trusted."

_databases: dict[tuple[bytes, ...], Path] = {}
_lock = threading.Lock()


def pdfsig_available() -> bool:
    return shutil.which("pdfsig") is not None


def _nss_database(roots: Sequence[x509.Certificate]) -> Path | None:
    """An NSS database trusting ``roots`` for signing (made once per set of roots), or None without certutil."""
    if not roots or shutil.which("certutil") is None:
        return None
    key = tuple(sorted(c.public_bytes(Encoding.DER) for c in roots))
    with _lock:
        if key in _databases:
            return _databases[key]
        folder = Path(tempfile.mkdtemp(prefix="esign-nss-"))
        atexit.register(shutil.rmtree, folder, True)
        run = [["certutil", "-N", "-d", f"sql:{folder}", "--empty-password"]]
        for n, cert in enumerate(roots):
            pem = folder / f"root{n}.pem"
            pem.write_bytes(cert.public_bytes(Encoding.PEM))
            run.append(["certutil", "-A", "-d", f"sql:{folder}", "-n", f"root{n}", "-t", "CT,C,C", "-i", str(pem)])
        for command in run:
            subprocess.run(command, capture_output=True, check=True, timeout=60)
        _databases[key] = folder
        return folder


def pdfsig_output(path: Path, trust_roots: Sequence[x509.Certificate] = ()) -> str:
    """What pdfsig prints for ``path``, trusting ``trust_roots`` when certutil is there."""
    database = _nss_database(trust_roots)
    command = ["pdfsig", *(["-nssdir", f"sql:{database}"] if database else []), str(path)]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60).stdout


def pdfsig_problem(path: Path, trust_roots: Sequence[x509.Certificate] = ()) -> str | None:
    """None when every signature pdfsig finds is valid and covers the whole file (and, given the roots and
    certutil, its certificate is trusted); else what it printed."""
    out = pdfsig_output(path, trust_roots)
    trust_needed = _nss_database(trust_roots) is not None
    if VALID in out and WHOLE in out and (TRUSTED in out or not trust_needed):
        return None
    return " ".join(out.split())[:300] or "pdfsig printed nothing"
