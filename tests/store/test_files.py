"""Document file writes: atomic renames, and durability per group before the ledger records a file."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import pytest

from esign.store import files
from esign.store.files import sync_files, write_atomic, write_unsynced


@pytest.mark.parametrize("write", [write_atomic, write_unsynced])
def test_a_write_replaces_the_file_whole_and_leaves_no_temp_file(tmp_path: Path, write: object) -> None:
    target = tmp_path / "rendered" / "DOC-1.pdf"
    write(target, b"first")  # type: ignore[operator]
    write(target, b"second version")  # type: ignore[operator]
    assert target.read_bytes() == b"second version"
    assert sorted(p.name for p in target.parent.iterdir()) == ["DOC-1.pdf"]


def test_a_failed_write_removes_its_temp_file_and_keeps_the_old_one(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "DOC-2.pdf"
    write_unsynced(target, b"old")

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        write_unsynced(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["DOC-2.pdf"]


def test_a_group_is_synced_once_per_file_system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if files._SYNCFS is None:
        pytest.skip("syncfs(2) is Linux-only; the fallback is tested below")
    calls: list[int] = []
    real = files._SYNCFS

    def syncfs(fd: int) -> int:
        calls.append(os.fstat(fd).st_dev)
        return int(real(fd))

    monkeypatch.setattr(files, "_SYNCFS", syncfs)
    paths = []
    for kind in ("rendered", "company-signed"):
        for n in range(3):
            paths.append(tmp_path / kind / f"DOC-{n}.pdf")
            write_unsynced(paths[-1], b"%PDF-1.7 ...")
    sync_files(iter(paths))  # any iterable, read once
    assert calls == [tmp_path.stat().st_dev]
    sync_files([])
    assert len(calls) == 1


def test_without_syncfs_each_file_and_folder_is_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(files, "_SYNCFS", None)
    monkeypatch.setattr(os, "fsync", fsync)
    paths = [tmp_path / "a" / "1.pdf", tmp_path / "a" / "2.pdf", tmp_path / "b" / "3.pdf"]
    for path in paths:
        write_unsynced(path, b"x")
    sync_files(path for path in paths)
    assert sorted(synced) == sorted([*map(str, paths), str(tmp_path / "a"), str(tmp_path / "b")])


def test_a_write_back_error_reported_by_the_system_is_raised(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_syncfs(fd: int) -> int:
        ctypes.set_errno(5)
        return -1

    monkeypatch.setattr(files, "_SYNCFS", failing_syncfs)
    write_unsynced(tmp_path / "DOC-3.pdf", b"x")
    with pytest.raises(OSError, match="syncfs: Input/output error") as caught:
        sync_files([tmp_path / "DOC-3.pdf"])
    assert caught.value.errno == 5
