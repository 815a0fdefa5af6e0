"""Publish an executed notebook: an HTML page (outputs only, the reader's language) and a PDF beside it.

The PDF is the same page printed by headless Chromium (``--print-to-pdf``): the engine analysts read the HTML
with, so both look alike (CSS grid, web fonts, print rules), with no converter of our own and no second layout to
keep in step. Chromium is a system package (``scripts/system-deps.sh``; the browser tests use it too);
``ESIGN_CHROMIUM`` names another binary.
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from esign.reporting.queries import ReportError
from esign.settings import load_settings

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "esign_report"
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PDF_TIMEOUT_S = 180
#: Jupyter's libraries log through these; their warnings (an unclosed ZeroMQ context at exit) are not the reader's.
_JUPYTER_LOGGERS = ("traitlets", "nbclient", "papermill", "nbconvert")


@contextmanager
def quiet_jupyter() -> Iterator[None]:
    """Jupyter's loggers at ERROR for the duration: a report prints nothing but its failures."""
    loggers = [logging.getLogger(name) for name in _JUPYTER_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        gc.collect()  # the kernel client sits in a reference cycle: its teardown warning would come at exit
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def write_html(executed: Path, target: Path, *, title: str, lang: str) -> Path:
    """The executed notebook's outputs as one self-contained HTML page at ``target`` (written atomically)."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(template_name=TEMPLATE_NAME,  # type: ignore[no-untyped-call]
                            extra_template_basedirs=[str(TEMPLATE_DIR)], exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    # cells tagged "notebook-only" explain the notebook to whoever opens it; the published page leaves them out
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={"notebook-only"}),  # type: ignore[no-untyped-call]
                                   enabled=True)
    notebook = nbformat.read(executed, as_version=4)  # type: ignore[no-untyped-call]
    body, _ = exporter.from_notebook_node(notebook, resources={"esign_title": title, "esign_lang": lang})
    _write_atomically(target, body.encode("utf-8"))
    return target


def chromium_binary() -> str:
    """``ESIGN_CHROMIUM`` or the first Chromium on ``PATH``; a :class:`ReportError` that says what to install."""
    configured = load_settings().chromium
    if configured:
        if shutil.which(configured) is None:
            raise ReportError(f"ESIGN_CHROMIUM: {configured!r} is not an executable")
        return configured
    for name in CHROMIUM_CANDIDATES:
        if found := shutil.which(name):
            return found
    raise ReportError("no Chromium to print the PDF: install the chromium package (scripts/system-deps.sh) "
                      "or set ESIGN_CHROMIUM to a Chromium or Chrome binary")


def write_pdf(page: Path, target: Path, *, timeout: float = PDF_TIMEOUT_S) -> Path:
    """Print ``page`` (a local HTML file) to ``target`` with headless Chromium; A4 as the page's CSS says.

    The profile is a throwaway folder. ``--no-sandbox``: Chromium's sandbox needs privileges a container or a
    root CI runner lacks, and the only page it opens is this report, generated here with no script and no remote
    resource. (Turning scripts off with ``--blink-settings`` makes Chromium 156 print nothing at all.)
    """
    binary = chromium_binary()
    with tempfile.TemporaryDirectory(prefix="esign-pdf-") as scratch:
        partial = Path(scratch) / "report.pdf"
        command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                   "--disable-background-networking", f"--user-data-dir={Path(scratch) / 'profile'}",
                   "--no-pdf-header-footer", f"--print-to-pdf={partial}", page.resolve().as_uri()]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False,
                                    env={**os.environ, "HOME": scratch})
        except subprocess.TimeoutExpired as exc:
            raise ReportError(f"Chromium did not print {page.name} within {timeout:.0f} s") from exc
        if result.returncode != 0 or not partial.is_file() or partial.stat().st_size == 0:
            tail = "\n".join((result.stderr or "").strip().splitlines()[-5:])
            raise ReportError(f"Chromium could not print {page.name} (exit {result.returncode}): {tail}")
        _write_atomically(target, partial.read_bytes())
    return target


def _write_atomically(target: Path, data: bytes) -> None:
    partial = target.with_name(f".{target.name}.tmp")
    partial.write_bytes(data)
    partial.replace(target)
