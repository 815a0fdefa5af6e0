"""The document a client sees: its stored PDF, and page images rendered once by poppler and cached.

Images are cached under ``{cache_dir}/{document_id}/{sha256}/`` so a new version of a document never
shows stale pages, and a rendering is written atomically so concurrent viewers never read half a PNG.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
from pathlib import Path

from pypdf import PdfReader

from esign.errors import PortalError
from esign.store import Ledger, VersionRecord

RESOLUTION = 80  # dpi: an A4 page is 662 px wide, sharp enough on a phone, small enough to load fast
_KINDS = ("company_signed", "rendered")
_lock = threading.Lock()


class DocumentUnavailableError(PortalError):
    """The stored PDF of a document is missing (or pages beyond its end were asked for)."""

    reason = "document_missing"


class DocumentPages:
    """Finds a document's current client-facing PDF and serves its pages as PNG files."""

    def __init__(self, ledger: Ledger, documents_dir: Path, cache_dir: Path) -> None:
        self._ledger = ledger
        self._documents_dir = documents_dir
        self._cache_dir = cache_dir

    def version(self, document_id: str) -> VersionRecord:
        for kind in _KINDS:
            found = self._ledger.version(document_id, kind)
            if found is not None:
                return found
        raise DocumentUnavailableError("the document file is not available")

    def final(self, document_id: str) -> VersionRecord | None:
        """The sealed final file's version, once the document is completed (None before)."""
        return self._ledger.version(document_id, "final")

    def pdf_path(self, document_id: str, *, final: bool = False) -> Path:
        """The file a client downloads: the sealed final one when ``final`` and it exists, else the one to sign."""
        version = (self.final(document_id) if final else None) or self.version(document_id)
        path = Path(version.path)
        if not path.is_absolute():
            path = self._documents_dir / path
        if not path.is_file():
            raise DocumentUnavailableError("the document file is not available")
        return path

    def _folder(self, document_id: str) -> Path:
        return self._cache_dir / document_id / self.version(document_id).sha256

    def page_count(self, document_id: str) -> int:
        """Number of pages, read once with pypdf and cached next to the images."""
        folder = self._folder(document_id)
        marker = folder / "pages.txt"
        if marker.is_file():
            return int(marker.read_text(encoding="ascii"))
        count = len(PdfReader(self.pdf_path(document_id)).pages)
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(marker, str(count).encode("ascii"))
        return count

    def page_png(self, document_id: str, number: int) -> Path:
        """The PNG of page ``number`` (1-based), rendering it with ``pdftoppm`` the first time."""
        if number < 1 or number > self.page_count(document_id):
            raise DocumentUnavailableError("no such page")
        target = self._folder(document_id) / f"page-{number}.png"
        if target.is_file():
            return target
        with _lock:  # one render at a time per process (2-core machines; pdftoppm is CPU-bound)
            if target.is_file():
                return target
            pdf = self.pdf_path(document_id)
            with tempfile.TemporaryDirectory(dir=target.parent, prefix=".render-") as tmp:
                prefix = Path(tmp) / "page"
                subprocess.run(
                    ["pdftoppm", "-r", str(RESOLUTION), "-png", "-f", str(number), "-l", str(number),
                     "-singlefile", str(pdf), str(prefix)],
                    check=True, capture_output=True, timeout=60,
                )
                prefix.with_suffix(".png").replace(target)
        return target


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
