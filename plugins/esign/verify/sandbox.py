"""Examine a stranger's file in a child process with a time and a memory limit, so any input costs a bounded amount.

Size and object-count limits on the raw bytes do not bound what a parser allocates for one huge array or a
dictionary with millions of keys. The child process gets an address-space limit (``RLIMIT_AS``) and a CPU limit
(``RLIMIT_CPU``); the parent waits at most ``time_limit`` seconds, then kills it. A child that runs out of either,
or dies, gives the verdict ``unknown`` with the reason ``too_complex``; the parent's own memory is untouched (the
child's pages go back to the system when it exits).

Children come from a fork server started once per process with the verification modules imported: a fork of the
caller itself could inherit a lock held by another of its threads (a web server's), and would start with the
caller's whole address space counted against the limit (~230 MiB for the CLI, against ~105 MiB for the fork
server's children). Like every fork-server child, each one imports the caller's main module (``esign``'s entry
point: cheap); a child costs ~35 ms before it starts reading the file.
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from esign.store import Ledger
from esign.verify.examine import Examination, examine
from esign.verify.reasons import reason
from esign.verify.signatures import SignatureScan
from esign.verify.verifier import VerificationResult, verify_pdf

log = logging.getLogger(__name__)

#: Wall and CPU seconds a child may spend (the parent's own work stays well under a second on top).
TIME_LIMIT_SECONDS = 8.0
#: The child's whole address space, the verification modules included (~105 MiB of it).
MEMORY_LIMIT_BYTES = 512 * 1024 * 1024
#: Children at once; more callers wait for a slot (up to the time limit, then they get ``busy``).
PARALLEL = 2

_preload_lock = threading.Lock()
_preloaded = False


@dataclass(frozen=True, slots=True)
class ChildReport:
    """How the last examination went: for logs and for the measurements in the notes."""

    seconds: float
    peak_rss_bytes: int | None  # the child's peak resident memory (unknown when it died before answering)
    outcome: str  # ok, timeout, memory, crashed


def _child(conn: Connection, data: bytes, roots: list[bytes], memory: int, cpu: int) -> None:
    """Runs in the child: limits first, then the examination; sends (outcome, examination, peak RSS)."""
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    try:
        exam = examine(data, [x509.load_der_x509_certificate(r) for r in roots])
        outcome: tuple[str, Examination | None] = ("ok", exam)
    except (MemoryError, RecursionError):  # a file built to exhaust the parser
        outcome = ("memory", None)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    try:
        conn.send((outcome[0], outcome[1], peak))
    except MemoryError:  # even the answer did not fit
        conn.send(("memory", None, peak))
    conn.close()


def _context() -> Any:
    """The fork server, told to preload the verification modules before it starts."""
    global _preloaded
    context = multiprocessing.get_context("forkserver")
    with _preload_lock:
        if not _preloaded:
            context.set_forkserver_preload([__name__])  # this module: the child function and what it imports
            _preloaded = True
    return context


class Sandbox:
    """Runs :func:`esign.verify.examine.examine` in limited child processes; one per process is enough."""

    def __init__(self, time_limit: float = TIME_LIMIT_SECONDS, memory_limit: int = MEMORY_LIMIT_BYTES,
                 parallel: int = PARALLEL) -> None:
        self.time_limit = time_limit
        self.memory_limit = memory_limit
        self._slots = threading.BoundedSemaphore(parallel)
        self.last: ChildReport | None = None

    def examine(self, data: bytes, trust_roots: Sequence[x509.Certificate]) -> Examination:
        """What :func:`examine` says, or ``too_complex`` when the child ran out of time or memory."""
        start = time.monotonic()
        if not self._slots.acquire(timeout=self.time_limit):
            return _refused("busy")
        try:
            outcome, exam, peak = self._run(data, [c.public_bytes(Encoding.DER) for c in trust_roots],
                                            self.time_limit - (time.monotonic() - start))
        finally:
            self._slots.release()
        self.last = ChildReport(time.monotonic() - start, peak, outcome)
        if exam is None:
            log.info("verify: the child stopped (%s) after %.1f s", outcome, self.last.seconds)
            return _refused("too_complex")
        return exam

    def _run(self, data: bytes, roots: list[bytes], wait: float) -> tuple[str, Examination | None, int | None]:
        context = _context()
        receive, send = context.Pipe(duplex=False)
        child = context.Process(target=_child, args=(send, data, roots, self.memory_limit,
                                                     max(1, round(self.time_limit))), daemon=True)
        child.start()
        send.close()
        try:
            if not receive.poll(max(wait, 0.1)):
                return "timeout", None, _peak_rss(child.pid)
            outcome, exam, peak = receive.recv()
            return outcome, exam, peak
        except (EOFError, OSError):  # killed by a limit (SIGXCPU, SIGKILL) or crashed before answering
            return "crashed", None, None
        finally:
            receive.close()
            if child.is_alive():
                child.kill()
            child.join(timeout=5)


def _peak_rss(pid: int | None) -> int | None:
    """A running child's peak resident memory (Linux ``VmHWM``), read just before it is stopped."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def _refused(code: str) -> Examination:
    return Examination(None, SignatureScan(()), reason(code))


_shared: Sandbox | None = None
_shared_lock = threading.Lock()


def shared_sandbox() -> Sandbox:
    """The process's sandbox (its slots bound the children of every caller in the process)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Sandbox()
        return _shared


def examine_untrusted(data: bytes, trust_roots: Sequence[x509.Certificate]) -> Examination:
    """An :data:`esign.verify.verifier.Examiner` for files from outside: in the shared sandbox."""
    return shared_sandbox().examine(data, trust_roots)


def verify_untrusted(data: bytes, ledger: Ledger | None, trust_roots: Sequence[x509.Certificate]) -> \
        VerificationResult:
    """:func:`verify_pdf` for a file from outside (an upload, a file given to the CLI): parsed in the sandbox."""
    return verify_pdf(data, ledger, trust_roots, examiner=examine_untrusted)
