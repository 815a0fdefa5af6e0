"""Words the register shows for codes of other areas: runs and batches, messages and their states, channels.

Stage, event and actor labels are shared by every surface and live beside the stage machine
(:mod:`esign.model.labels`); these are the register's own.
"""

from __future__ import annotations

from esign.i18n import N_, Translator
from esign.register.queries import RunInfo

#: Airflow's run ID prefixes (``manual__2026-12-04T18:11:01+00:00``), by how the run started.
RUN_KINDS = {
    "manual": N_("manual run"),
    "scheduled": N_("scheduled run"),
    "asset_triggered": N_("run started by new data"),
    "dataset_triggered": N_("run started by new data"),
    "backfill": N_("backfill run"),
}
MESSAGE_KINDS = {
    "invite": N_("Invitation"),
    "reminder": N_("Reminder or resend"),
    "code": N_("Confirmation code"),
    "notice": N_("Notice"),
    "final_copy": N_("Final signed copy"),
}
MESSAGE_STATES = {
    "pending": N_("Queued"),
    "sending": N_("Being sent"),
    "sent": N_("Accepted by the server"),
    "failed": N_("Refused"),
    "uncertain": N_("Uncertain (may have been delivered)"),
}
#: Channels of the event log beyond the messages' own (a registered channel is named by esign.dispatch.labels).
CHANNELS = {"staff": N_("Staff"), "portal": N_("Portal")}
LINK_STATES = {
    "open": N_("Open"),
    "signed": N_("Signed"),
    "declined": N_("Declined"),
    "expired": N_("Expired"),
    "canceled": N_("Canceled"),
}


def coded(t: Translator, table: dict[str, str], code: str | None) -> str:
    """The label of ``code`` in ``table``, or the code itself when it has none (visible, never hidden)."""
    label = table.get(str(code or ""))
    return t.gettext(label) if label else str(code or "")


def run_label(t: Translator, run: RunInfo) -> str:
    """``04/12/2026 15:11 (UTC-03:00) · manual run``: when the run started and how, instead of its raw ID."""
    prefix, sep, _ = run.run_id.partition("__")
    how = t.gettext(RUN_KINDS[prefix]) if sep and prefix in RUN_KINDS else run.run_id
    return f"{t.format_datetime(run.started_at)} · {how}"


def batch_label(t: Translator, batch_id: str | None, run: RunInfo | None) -> str:
    """``04/12/2026 15:11 (UTC-03:00) · manual run · batch 1``; the raw ID when the batch is not recorded."""
    if not batch_id:
        return ""
    if run is None:
        return batch_id
    _, _, number = batch_id.rpartition("#")
    if not number.isdigit():
        return run_label(t, run)
    return t.gettext("%(run)s · batch %(number)s") % {"run": run_label(t, run), "number": int(number) + 1}
