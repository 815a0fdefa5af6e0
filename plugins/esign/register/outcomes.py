"""What an action did, told in the reader's language: the confirmations of the document page and of bulk results.

Each sentence says only what happened: "accepted by the e-mail server" once the relay took the message,
"queued" when it did not answer (the next ``esign_collect`` sends it), "already resent" when a click repeated one.
"""

from __future__ import annotations

from datetime import datetime

from esign.dispatch.records import OutboxEntry, OutboxState
from esign.i18n import Translator
from esign.register.actions import Canceled
from esign.register.resend import Resend


def delivery(t: Translator, entry: OutboxEntry | None) -> str:
    """Where one message stands, as a sentence."""
    if entry is None:
        return ""
    if entry.state is OutboxState.SENT and entry.sent_at is not None:
        return t.gettext("The server accepted the message at %(when)s.") % {"when": t.format_datetime(entry.sent_at)}
    if entry.state in (OutboxState.PENDING, OutboxState.SENDING):
        return t.gettext("The message is queued: the server did not take it now; the next collect run sends it "
                         "(within about 10 minutes).")
    if entry.state is OutboxState.UNCERTAIN:
        return t.gettext("The server may or may not have received the message; it will not be sent again "
                         "automatically.")
    return t.gettext("The server refused the message: %(error)s") % {"error": entry.last_error or "-"}


def resent(t: Translator, outcome: Resend, entry: OutboxEntry | None) -> str:
    if outcome.repeated:
        return t.gettext("The link had already been resent at %(when)s; nothing was sent again.") % {
            "when": t.format_datetime(outcome.queued_at)}
    if outcome.signer_name:
        return t.gettext("Link resent to %(name)s.") % {"name": outcome.signer_name} + " " + delivery(t, entry)
    return t.gettext("Link resent to the client.") + " " + delivery(t, entry)


def canceled(t: Translator, outcome: Canceled) -> str:
    parts = [t.gettext("Document canceled; the signing link no longer works.")]
    if outcome.crm == "done":
        parts.append(t.gettext("The CRM deal got the comment and moved to the review stage."))
    elif outcome.crm == "pending":
        parts.append(t.gettext("The CRM could not be updated (%(error)s); try again from the document page.")
                     % {"error": outcome.crm_error or "-"})
    if len(outcome.notices) > 1:
        parts.append(t.gettext("Notices to the signers:") + " "
                     + " ".join(delivery(t, n) for n in outcome.notices))
    elif outcome.notice is not None:
        parts.append(t.gettext("Notice to the client:") + " " + delivery(t, outcome.notice))
    else:
        parts.append(t.gettext("The client had no link yet, so no notice was needed."))
    return " ".join(parts)


def written_back(t: Translator, outcome: Canceled) -> str:
    if outcome.crm == "done":
        return t.gettext("The CRM deal got the comment and moved to the review stage.")
    return t.gettext("The CRM could not be updated (%(error)s); try again later.") % {"error": outcome.crm_error or "-"}


def extended(t: Translator, expiry: datetime) -> str:
    return t.gettext("The signing link is now valid until %(when)s.") % {"when": t.format_datetime(expiry)}
