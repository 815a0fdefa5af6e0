"""The words of the reports: column headings, key figures, step names, counters, message kinds and states.

The metric tables keep machine values (column names, codes); the presentation translates them with the reader's
:class:`~esign.i18n.Translator` when it writes a page, so one computed report can be shown in any language.
Short words get a context (``pgettext``): "Declined" heads a column of counts ("Recusados") while the stage label
of one document is "Recusado", and the catalogues of all areas are merged into one.
"""

from __future__ import annotations

from esign.dispatch.labels import channel_label
from esign.i18n import N_, Translator
from esign.model.labels import stage_label
from esign.requests.signer_states import role_label


def headings(t: Translator) -> dict[str, str]:
    """Table headings (and chart axis and legend words) by column name, in ``t``'s language."""
    return {
        "stage": t.pgettext("report column", "Stage"),
        "documents": t.pgettext("report column", "Documents"),
        "pct_of_created": t.pgettext("report column", "% of created"),
        "pct_of_previous": t.pgettext("report column", "% of the previous stage"),
        "template": t.pgettext("report column", "Template"),
        "signed": t.pgettext("report column", "Signed"),
        "median_s": t.pgettext("report column", "Median"),
        "p90_s": t.pgettext("report column", "90% within"),
        "channel": t.pgettext("report column", "Channel"),
        "requests": t.pgettext("report column", "Requests"),
        "open": t.pgettext("report column", "Open"),
        "declined": t.pgettext("report column", "Declined"),
        "expired": t.pgettext("report column", "Expired"),
        "canceled": t.pgettext("report column", "Canceled"),
        "pct_signed": t.pgettext("report column", "% signed"),
        "manager": t.pgettext("report column", "Manager"),
        "department": t.pgettext("report column", "Department"),
        "completed": t.pgettext("report column", "Completed"),
        "pct_completed": t.pgettext("report column", "% completed"),
        "day": t.pgettext("report column", "Day"),
        "created": t.pgettext("report column", "Created"),
        "sent": t.pgettext("report column", "Links sent"),
        "reason": t.pgettext("report column", "Reason"),
        "kind": t.pgettext("report column", "Message"),
        "state": t.pgettext("report column", "State"),
        "error": t.pgettext("report column", "Error"),
        "messages": t.pgettext("report column", "Messages"),
        "bucket": t.pgettext("report column", "Age"),
        "duration": t.pgettext("report column", "Time to sign"),
        "past_expiry": t.pgettext("report column", "Past expiry"),
        "outcome": t.pgettext("report column", "Outcome"),
        "step": t.pgettext("report column", "Step"),
        "counts": t.pgettext("report column", "Counts"),
        "started": t.pgettext("report column", "Started"),
        "finished": t.pgettext("report column", "Finished"),
        "seconds": t.pgettext("report column", "Duration"),
        "docs_per_second": t.pgettext("report column", "Documents/s"),
        "batch": t.pgettext("report column", "Batch"),
        "first_id": t.pgettext("report column", "First deal"),
        "last_id": t.pgettext("report column", "Last deal"),
        "planned": t.pgettext("report column", "Deals planned"),
        "approved_by": t.pgettext("report column", "Approved by"),
        "approved_at": t.pgettext("report column", "Approved at"),
        "deal_id": t.pgettext("report column", "Deal"),
        "document_id": t.pgettext("report column", "Document"),
        "role": t.pgettext("report column", "Role"),
        "position": t.pgettext("report column", "Position"),
        "signers": t.pgettext("report column", "Signers"),
        "invited": t.pgettext("report column", "Invited"),
        "viewed": t.pgettext("report column", "Opened the link"),
        "confirmed": t.pgettext("report column", "Confirmed the code"),
    }


def figure_names(t: Translator) -> dict[str, str]:
    """Key figures' labels (signing report and run report) by figure name."""
    return {
        "created": t.pgettext("report figure", "Documents created"),
        "sent": t.pgettext("report figure", "Links sent"),
        "signed": t.pgettext("report figure", "Signed by the client"),
        "declined": t.pgettext("report figure", "Declined"),
        "expired": t.pgettext("report figure", "Expired"),
        "median_s": t.pgettext("report figure", "Median time to sign"),
        "p90_s": t.pgettext("report figure", "90% signed within"),
        "pending": t.pgettext("report figure", "Requests waiting"),
        "past_expiry": t.pgettext("report figure", "Waiting past expiry"),
        "reminders_sent": t.pgettext("report figure", "Reminders sent (documents sent in the period)"),
        "batches": t.pgettext("report figure", "Batches"),
        "planned": t.pgettext("report figure", "Deals planned"),
        "documents": t.pgettext("report figure", "Documents"),
        "quarantined": t.pgettext("report figure", "Quarantined"),
        "failed": t.pgettext("report figure", "Failed"),
        "seconds": t.pgettext("report figure", "Duration"),
        "docs_per_second": t.pgettext("report figure", "Documents/s"),
        "approved_by": t.pgettext("report figure", "Approved by"),
    }


def step_names(t: Translator) -> dict[str, str]:
    """The steps of an esign_send run as the run report names them."""
    return {
        "prepare": t.pgettext("run step", "Validate and render"),
        "approval": t.pgettext("run step", "Wait for the approval"),
        "sign": t.pgettext("run step", "Company signature"),
        "dispatch": t.pgettext("run step", "Send the links"),
        "crm": t.pgettext("run step", "Update the CRM"),
    }


def counter_names(t: Translator) -> dict[str, str]:
    """The counters each step writes in ``pipeline_batches.counts_json``."""
    return {
        "prepared": t.pgettext("run counter", "prepared"),
        "quarantined": t.pgettext("run counter", "quarantined"),
        "missing": t.pgettext("run counter", "missing from the CRM"),
        "existing": t.pgettext("run counter", "already in another run"),
        "errors": t.pgettext("run counter", "errors"),
        "signed": t.pgettext("run counter", "signed"),
        "failed": t.pgettext("run counter", "failed"),
        "busy": t.pgettext("run counter", "busy"),
        "not_rendered": t.pgettext("run counter", "not rendered"),
        "sent": t.pgettext("run counter", "sent"),
        "marked_sent": t.pgettext("run counter", "marked sent"),
        "moved": t.pgettext("run counter", "moved"),
        "dry_run": t.pgettext("run counter", "dry run"),
    }


def message_kinds(t: Translator) -> dict[str, str]:
    return {
        "invite": t.pgettext("message kind", "Invitation"),
        "reminder": t.pgettext("message kind", "Reminder"),
        "code": t.pgettext("message kind", "One-time code"),
        "notice": t.pgettext("message kind", "Notice"),
        "final_copy": t.pgettext("message kind", "Final signed copy"),
    }


def message_states(t: Translator) -> dict[str, str]:
    return {
        "failed": t.pgettext("message state", "Not delivered"),
        "uncertain": t.pgettext("message state", "Uncertain (the relay may have it)"),
        "pending": t.pgettext("message state", "Waiting"),
        "sending": t.pgettext("message state", "Sending"),
        "sent": t.pgettext("message state", "Delivered to the relay"),
    }


#: Placeholders for values the ledger does not have.
NO_REASON = N_("(no reason recorded)")
NO_DECLINE_REASON = N_("(no reason given)")
NO_ERROR = N_("(no error recorded)")
NO_MANAGER = N_("(no manager)")
UNKNOWN_DEPARTMENT = N_("(unknown department)")
MANAGER_BY_ID = N_("Manager %(id)s")
AUTO_APPROVAL = N_("automatic (configuration)")
DIRECTOR_APPROVAL = N_("director %(login)s")


def heading(column: str, t: Translator) -> str:
    """A column's heading; an unknown column shows its name (the tests require every shown column here)."""
    return headings(t).get(column, column)


def counts_text(counts: dict[str, int], t: Translator) -> str:
    """``{"prepared": 5, "quarantined": 1}`` as ``prepared 5, quarantined 1`` in the reader's language (in the
    pipeline's order)."""
    names = counter_names(t)
    return ", ".join(f"{names.get(key, key)} {t.format_number(value)}"
                     for key, value in counts.items() if value)


def approver_text(approved_by: str, t: Translator) -> str:
    """Who approved a run, as ``esign.pipeline.send.record_approval`` records it."""
    if approved_by == "auto-approve (configuration)":
        return t.gettext(AUTO_APPROVAL)
    if approved_by.startswith("director:"):
        return t.gettext(DIRECTOR_APPROVAL) % {"login": approved_by.split(":", 1)[1]}
    return approved_by


def code_text(column: str, value: object, t: Translator) -> str | None:
    """The label of a cell holding a code, or None when ``column`` does not hold codes."""
    code = str(value)
    if column == "stage":
        return heading("created", t) if code == "created" else stage_label(code, t)
    if column == "channel":
        return channel_label(code, t)
    if column == "role":
        return role_label(code, t)
    named = {"step": step_names, "kind": message_kinds, "state": message_states}.get(column)
    if named is not None:
        return named(t).get(code, code)
    if column in ("bucket", "outcome", "duration"):
        return t.gettext(code)  # the metrics' own N_ labels
    if column == "approved_by":
        return approver_text(code, t)
    return None
