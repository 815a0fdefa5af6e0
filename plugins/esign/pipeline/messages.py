"""Turn a signing request into the invitation, reminder or code message the outbox stores."""

from __future__ import annotations

from esign.dispatch.email import build_code, build_invite, build_reminder
from esign.dispatch.records import Channel, MessageKind, OutgoingMessage, message_id_for
from esign.dispatch.sms import sms_code_text, sms_invite_text, sms_reminder_text
from esign.pipeline.services import Services
from esign.requests.records import SigningRequest
from esign.store import DocumentRecord

CODE_VALID_MINUTES = 5


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
    if request.channel == Channel.EMAIL:
        signer = record.counterparty_name
        if kind is MessageKind.INVITE:
            payload = build_invite(services.email_templates, from_addr=services.smtp.from_addr,
                                   to=request.destination, message_id=message_id, signer_name=signer, link=link,
                                   expires_at=request.expires_at, document_id=record.id,
                                   company_name=company, document_title=title)
        else:
            payload = build_reminder(services.email_templates, from_addr=services.smtp.from_addr,
                                     to=request.destination, message_id=message_id, signer_name=signer, link=link,
                                     expires_at=request.expires_at, number=number, document_id=record.id,
                                     company_name=company, document_title=title)
    else:
        build = sms_invite_text if kind is MessageKind.INVITE else sms_reminder_text
        payload = build(link=link, expires_at=request.expires_at, company_name=company, document_title=title)
    return OutgoingMessage(dedupe_key=key, document_id=record.id, request_id=request.id, kind=kind,
                           channel=request.channel, destination=request.destination, message_id=message_id,
                           payload=payload)


def code_message(services: Services, request: SigningRequest, record: DocumentRecord, code: str,
                 sequence: int) -> OutgoingMessage:
    key = f"code:{request.id}:{sequence}"
    message_id = message_id_for(key)
    payload: bytes | str
    if request.channel == Channel.EMAIL:
        payload = build_code(services.email_templates, from_addr=services.smtp.from_addr, to=request.destination,
                             message_id=message_id, signer_name=record.counterparty_name, code=code,
                             valid_minutes=CODE_VALID_MINUTES, document_id=record.id,
                             company_name=services.ws.company.party.name, document_title=record.title)
    else:
        payload = sms_code_text(company_name=services.ws.company.party.name, code=code,
                                valid_minutes=CODE_VALID_MINUTES)
    return OutgoingMessage(dedupe_key=key, document_id=record.id, request_id=request.id, kind=MessageKind.CODE,
                           channel=request.channel, destination=request.destination, message_id=message_id,
                           payload=payload)


class OutboxCodeSender:
    """The portal's :class:`~esign.requests.service.CodeSender`: one-time codes go through the outbox too.

    The code message is recorded, then delivered at once on its own (the client is waiting for it).
    """

    def __init__(self, services: Services) -> None:
        self.services = services

    def send_code(self, request: SigningRequest, code: str, sequence: int) -> None:
        services = self.services
        record = services.ws.ledger.get(request.document_id)
        entry = services.outbox.enqueue(code_message(services, request, record, code, sequence))
        email = services.email_sender() if request.channel == Channel.EMAIL else None
        sms = services.sms_gateway if request.channel == Channel.SMS else None
        services.outbox.deliver_pending(email, sms, limit=1, batch=[entry.id])
