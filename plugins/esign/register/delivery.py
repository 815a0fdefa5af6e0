"""Sending what a staff action queued, at once, while the person waits for the answer.

The outbox rows are recorded first (exactly once, as everywhere); this hands only those rows to the relay in one
session, with a short timeout and a deadline so a hung or slow relay cannot hold the page (the SMTP default is 30 s
per operation). What the relay did not take stays ``pending`` and leaves with the next ``esign_collect`` run (its
``deliver_leftovers``): the page then says "queued", never "sent".
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from esign.dispatch.records import Channel, OutboxEntry
from esign.errors import EsignError
from esign.pipeline.services import Services

log = logging.getLogger(__name__)

#: Seconds a staff action waits for the SMTP relay (connect and each reply), and in all for one message; a bulk
#: action gets a little more per message. What the relay did not take by then stays queued.
SMTP_TIMEOUT = 10.0
SECONDS_PER_MESSAGE = 0.2


def deliver_now(services: Services, entry_ids: Sequence[int]) -> dict[int, OutboxEntry]:
    """Send these outbox rows now; each row as it ended (sent, pending again, failed, uncertain), by ID.

    Rows another request is sending at the same moment are left to it (the outbox claims each row once).
    """
    ids = list(dict.fromkeys(entry_ids))
    if not ids:
        return {}
    channels = {e.channel for e in (services.outbox.get(i) for i in ids) if e is not None}
    try:
        settings = replace(services.smtp, timeout=min(services.smtp.timeout, SMTP_TIMEOUT))
        email = {Channel.EMAIL.value} & channels  # bounded: the staff member waits on the page
        senders = {**services.senders(channels - email),
                   **services.senders(email, smtp=settings, deadline=SMTP_TIMEOUT + SECONDS_PER_MESSAGE * len(ids))}
        services.outbox.deliver_pending(senders, limit=len(ids), batch=ids)
    except EsignError as exc:  # a configuration problem: the rows stay queued for the next run, and it is logged
        log.error("staff action: could not send outbox %s now: %s", ids, exc)
    return {e.id: e for e in (services.outbox.get(i) for i in ids) if e is not None}
