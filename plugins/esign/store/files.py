"""Atomic file writes for documents: a reader never sees a half-written PDF.

Two ways to make a write durable. :func:`write_atomic` fsyncs each file before its rename (for a file that must
be on disk at once, such as a received email before the server says 250). :func:`write_unsynced` +
:func:`sync_files` write a group of files and then make all of them durable together, before the ledger records
any of them: one fsync per document made each worker wait for a journal commit per file (1.5-2 ms, twice per
document on the send chain), one ``syncfs`` per group of 50 costs about what one fsync does.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, then rename over ``path``."""
    _write_then_rename(path, data, sync=True)


def write_unsynced(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder and rename it over ``path``; :func:`sync_files` makes it durable.

    Readers never see a half-written file. After a machine crash before the sync the file may be empty or
    missing, which is why the ledger records it only once ``sync_files`` returned: a file the ledger does not
    name is written again by the next run, and one it names is checked against its SHA-256 before use.
    """
    _write_then_rename(path, data, sync=False)


def sync_files(paths: Iterable[str | Path]) -> None:
    """Make written files, and their renames, durable: one ``syncfs`` per file system on Linux, elsewhere an
    fsync of each file and of each folder. Raises ``OSError`` if the system reports a write-back error."""
    files = [Path(p) for p in paths]
    folders = {f.parent for f in files}
    if _SYNCFS is None:
        for file in files:
            _fsync_path(file)
        for folder in folders:
            _fsync_path(folder)
        return
    devices: dict[int, Path] = {}
    for folder in folders:
        devices.setdefault(folder.stat().st_dev, folder)
    for folder in devices.values():
        fd = os.open(folder, os.O_RDONLY)
        try:
            if _SYNCFS(fd) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"syncfs: {os.strerror(err)}", str(folder))
        finally:
            os.close(fd)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _load_syncfs() -> Any:
    """glibc's ``syncfs(2)`` (Linux), or None where there is none."""
    if sys.platform != "linux":
        return None
    try:
        return getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
    except OSError:
        return None


_SYNCFS = _load_syncfs()


def _write_then_rename(path: Path, data: bytes, *, sync: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if sync:
                handle.flush()
                os.fsync(handle.fileno())
        Path(tmp_name).replace(path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
