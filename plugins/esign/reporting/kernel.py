"""The notebooks' kernel: ipykernel with its own standard error sent to a log file instead of the terminal.

A kernel started by papermill inherits the caller's terminal and prints its start-up and shutdown chatter there
("Kernel is running over TCP without encryption", "Parent appears to have exited"); ``esign report`` must print
only where the reports are. The runner names the log in ``ESIGN_KERNEL_LOG`` and shows its tail when a report
fails. Run as ``python -m esign.reporting.kernel -f <connection file>``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from esign.settings import load_settings

LOG_VARIABLE = "ESIGN_KERNEL_LOG"  # as runner.KERNEL_LOG_VARIABLE


def main() -> None:
    log = load_settings().kernel_log
    if log:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(fd, 2)
        os.close(fd)
    if sys.path and sys.path[0] in ("", str(Path.cwd())):  # as ipykernel_launcher: the report folder is no package
        del sys.path[0]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
