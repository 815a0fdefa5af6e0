"""The portal's one-time codes sent at once through the outbox (the messages themselves:
:mod:`esign.requests.messages`)."""

from __future__ import annotations

from esign.dispatch.records import MessageKind, OutboxState
from esign.errors import DispatchError
from esign.pipeline.services import Services
from esign.requests.messages import code_message
from esign.requests.records import SigningRequest

#: Seconds the portal waits for the relay to accept a one-time code before telling the client to ask again.
CODE_SEND_DEADLINE = 5.0


class CodeNotSentError(DispatchError):
    """The relay did not accept a one-time code in time (refused, unreachable, or no answer)."""


class OutboxCodeSender:
    """The portal's :class:`~esign.requests.CodeSender`: a one-time code goes through the outbox, at once.

    The code message is recorded, then handed to the relay on its own, within ``deadline`` seconds in all (the
    client is waiting on the page). It returns only when the relay accepted it. Otherwise the row is given up
    (``failed``, or ``uncertain`` when the relay may have it) so that no later run delivers a code nobody can
    use any more, and :class:`CodeNotSentError` says why.
    """

    def __init__(self, services: Services, deadline: float = CODE_SEND_DEADLINE) -> None:
        self.services = services
        self.deadline = deadline

    def send_code(self, request: SigningRequest, code: str, sequence: int, intent: str = "sign") -> None:
        services = self.services
        record = services.ws.ledger.get(request.document_id)
        entry = services.outbox.enqueue(code_message(services, request, record, code, sequence, intent))
        senders = services.senders([request.channel], deadline=self.deadline)
        services.outbox.deliver_pending(senders, limit=1, batch=[entry.id], kinds=[MessageKind.CODE])
        row = services.outbox.get(entry.id)
        if row is not None and row.state is OutboxState.SENT:
            return
        if row is not None and row.state is OutboxState.PENDING:  # refused for now, or the relay is down
            services.outbox.abandon(entry.id, f"not accepted within {self.deadline:g} s; the client was asked to "
                                              f"request a new code ({row.last_error or 'no answer'})")
        reason = (row.last_error if row is not None else None) or "no answer"
        raise CodeNotSentError(f"code #{sequence} of {request.id}: not accepted by the relay ({reason})")
