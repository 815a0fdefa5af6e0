"""Turn a signing request into the invitation, reminder or code message the outbox stores.

The message follows the channel's format (:mod:`esign.dispatch.registry`): an e-mail channel carries the MIME
message built from ``templates/email``, every other channel the short text an SMS carries.
"""

from __future__ import annotations

from esign.dispatch.email import Reader, build_code, build_invite, build_reminder
from esign.dispatch.records import MessageKind, OutboxState, OutgoingMessage, message_id_for
from esign.dispatch.registry import channel
from esign.dispatch.sms import sms_code_text, sms_invite_text, sms_reminder_text
from esign.errors import DispatchError
from esign.pipeline.services import Services
from esign.requests.records import SigningRequest
from esign.store import DocumentRecord

CODE_VALID_MINUTES = 5
#: Seconds the portal waits for the relay to accept a one-time code before telling the client to ask again.
CODE_SEND_DEADLINE = 5.0


class CodeNotSentError(DispatchError):
    """The relay did not accept a one-time code in time (refused, unreachable, or no answer)."""


def client_reader(services: Services, record: DocumentRecord) -> Reader:
    """Who reads the client's messages: the client's language when the deal gave one, else the company's, in the
    company's zone; greeted by the contact person's name, with the company's contact."""
    company = services.ws.company
    party = company.party
    return Reader(company.translator(record.language or None), contact_name(record),
                  " · ".join(way for way in (party.email, party.phone) if way))


def contact_name(record: DocumentRecord) -> str:
    """The person to greet at the counterparty (empty when the deal names none: never the company's name)."""
    return record.counterparty_contact


def invite_message(services: Services, request: SigningRequest, record: DocumentRecord) -> OutgoingMessage:
    return _link_message(services, request, record, MessageKind.INVITE, f"invite:{request.id}", 0)


def reminder_message(services: Services, request: SigningRequest, record: DocumentRecord,
                     number: int) -> OutgoingMessage:
    return _link_message(services, request, record, MessageKind.REMINDER, f"reminder:{request.id}:{number}", number)


def _link_message(services: Services, request: SigningRequest, record: DocumentRecord, kind: MessageKind,
                  key: str, number: int) -> OutgoingMessage:
    link = services.requests.link_for(request, services.ws.settings.public_url)
    message_id = message_id_for(key)
    company, title = services.ws.company.party.name, record.title
    payload: bytes | str
    reader = client_reader(services, record)
    if channel(request.channel).format == "email":
        if kind is MessageKind.INVITE:
            payload = build_invite(services.email_templates, from_addr=services.smtp.from_addr,
                                   to=request.destination, message_id=message_id, reader=reader, link=link,
                                   expires_at=request.expires_at, document_id=record.id,
                                   company_name=company, document_title=title)
        else:
            payload = build_reminder(services.email_templates, from_addr=services.smtp.from_addr,
                                     to=request.destination, message_id=message_id, reader=reader, link=link,
                                     expires_at=request.expires_at, number=number, document_id=record.id,
                                     company_name=company, document_title=title)
    else:
        build = sms_invite_text if kind is MessageKind.INVITE else sms_reminder_text
        payload = build(link=link, expires_at=request.expires_at, company_name=company, document_title=title,
                        t=reader.t)
    return OutgoingMessage(dedupe_key=key, document_id=record.id, request_id=request.id, kind=kind,
                           channel=request.channel, destination=request.destination, message_id=message_id,
                           payload=payload)


def code_message(services: Services, request: SigningRequest, record: DocumentRecord, code: str,
                 sequence: int, intent: str = "sign") -> OutgoingMessage:
    """The one-time code, saying what it confirms: signing, or declining (``intent``)."""
    key = f"code:{request.id}:{sequence}"
    message_id = message_id_for(key)
    reader = client_reader(services, record)
    payload: bytes | str
    if channel(request.channel).format == "email":
        payload = build_code(services.email_templates, from_addr=services.smtp.from_addr, to=request.destination,
                             message_id=message_id, reader=reader, code=code, intent=intent,
                             valid_minutes=CODE_VALID_MINUTES, document_id=record.id,
                             company_name=services.ws.company.party.name, document_title=record.title)
    else:
        payload = sms_code_text(company_name=services.ws.company.party.name, code=code, intent=intent,
                                valid_minutes=CODE_VALID_MINUTES, t=reader.t)
    return OutgoingMessage(dedupe_key=key, document_id=record.id, request_id=request.id, kind=MessageKind.CODE,
                           channel=request.channel, destination=request.destination, message_id=message_id,
                           payload=payload)


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
