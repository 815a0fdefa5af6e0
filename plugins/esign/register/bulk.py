"""Acting on many selected documents at once, saying for each one what was done or why it was skipped.

Each document goes through the same checked action as on its own page (rights, stage, limits); a refusal skips
that document and the rest go on. The messages the actions cause are sent together at the end, in one SMTP
session. The signed-PDF download packs the final files it may give and lists the others, with the reason, in a
text file inside the ZIP.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import IO

from esign.access import Principal
from esign.errors import EsignError
from esign.i18n import Translator
from esign.model import Stage
from esign.register import outcomes
from esign.register.actions import Canceled, DocumentActions
from esign.register.delivery import deliver_now
from esign.register.errors import NOT_COMPLETED, NOTHING_SELECTED, TOO_MANY, UNKNOWN_ACTION, ActionError, reason_of
from esign.register.resend import Resend

MAX_SELECTED = 500
BULK_ACTIONS = ("resend", "extend", "cancel")


@dataclass
class BulkOutcome:
    """Per document: what was done, or why it was skipped (both in the reader's language)."""

    action: str
    done: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def selection(ids: Sequence[str]) -> list[str]:
    """The selected document IDs, each once, in order; refused when empty or too many."""
    chosen = list(dict.fromkeys(i.strip() for i in ids if i.strip()))
    if not chosen:
        raise ActionError(NOTHING_SELECTED)
    if len(chosen) > MAX_SELECTED:
        raise ActionError(TOO_MANY, max=MAX_SELECTED)
    return chosen


def run_bulk(actions: DocumentActions, principal: Principal, t: Translator, action: str, ids: Sequence[str],
             *, days: int = 7, reason: str = "") -> BulkOutcome:
    if action not in BULK_ACTIONS:
        raise ActionError(UNKNOWN_ACTION, action=action)
    outcome = BulkOutcome(action)
    to_send: list[int] = []
    results: list[tuple[str, Resend | Canceled]] = []
    for doc_id in selection(ids):
        try:
            if action == "resend":
                resend, entry = actions.resend(principal, doc_id, deliver=False)
                if not resend.repeated:
                    to_send.append(entry.id)
                results.append((doc_id, resend))
            elif action == "cancel":
                done = actions.cancel(principal, doc_id, reason, deliver=False)
                if done.notice is not None:
                    to_send.append(done.notice.id)
                results.append((doc_id, done))
            else:
                outcome.done.append((doc_id, outcomes.extended(t, actions.extend(principal, doc_id, days))))
        except EsignError as exc:
            outcome.skipped.append((doc_id, reason_of(t, exc)))
    sent = deliver_now(actions.services, to_send)
    for doc_id, result in results:
        if isinstance(result, Resend):
            outcome.done.append((doc_id, outcomes.resent(t, result, sent.get(result.entry_id))))
        elif isinstance(result, Canceled):
            if result.notice is not None:
                result = replace(result, notice=sent.get(result.notice.id, result.notice))
            outcome.done.append((doc_id, outcomes.canceled(t, result)))
    return outcome


def signed_zip(actions: DocumentActions, principal: Principal, t: Translator, ids: Sequence[str],
               ) -> tuple[IO[bytes], int, list[tuple[str, str]]]:
    """The final PDFs ``principal`` may download as one ZIP (on disk past a few MiB): the file (at its start),
    how many PDFs it holds, and the documents left out with why (also listed inside the ZIP)."""
    skipped: list[tuple[str, str]] = []
    included = 0
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - returned open
    with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive:
        for doc_id in selection(ids):
            try:
                record = actions.document(principal, doc_id)
                if record.stage is not Stage.COMPLETED:
                    raise ActionError(NOT_COMPLETED, id=doc_id, stage=record.stage)
                path = actions.version_file(principal, doc_id, "final")
            except EsignError as exc:
                skipped.append((doc_id, reason_of(t, exc)))
                continue
            archive.write(path, f"{doc_id}.pdf")
            actions.downloaded(principal, doc_id, "ZIP")
            included += 1
        if skipped:
            lines = [t.gettext("Documents not included in this file, and why:"), ""]
            lines += [f"{doc_id}: {why}" for doc_id, why in skipped]
            archive.writestr(t.gettext("not-included.txt"), "\r\n".join(lines) + "\r\n")
    spool.seek(0)
    return spool, included, skipped
