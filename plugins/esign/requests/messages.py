"""Turn a signing request into the invitation, reminder or code message the outbox stores.

The message follows the channel's format (:mod:`esign.dispatch.registry`): an e-mail channel carries the MIME
message built from ``templates/email``, every other channel the short text an SMS carries. The builders take
what they read as a :class:`MessageServices` (the pipeline's ``Services`` is one), so the pipeline, the rules and
the register share them without this package knowing any of those.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from esign.dispatch.email import Reader, build_code, build_declined_notice, build_invite, build_reminder
from esign.dispatch.records import MessageKind, OutgoingMessage, message_id_for
from esign.dispatch.registry import channel
from esign.dispatch.sms import sms_code_text, sms_declined_notice_text, sms_invite_text, sms_reminder_text
from esign.requests.records import SigningRequest
from esign.store import DocumentRecord

if TYPE_CHECKING:
    from esign.dispatch.email import EmailTemplates, SmtpSettings
    from esign.requests.service import SigningRequests
    from esign.workspace import Workspace

CODE_VALID_MINUTES = 5


class MessageServices(Protocol):
    """What building a client's message reads: the workspace (company, public URL), the relay's sender address,
    the e-mail templates and the signing requests (links)."""

    @property
    def ws(self) -> Workspace: ...

    @property
    def smtp(self) -> SmtpSettings: ...

    @property
    def email_templates(self) -> EmailTemplates: ...

    @property
    def requests(self) -> SigningRequests: ...


def client_reader(services: MessageServices, record: DocumentRecord, signer: int = 1) -> Reader:
    """Who reads a signer's messages: their language when the CRM gave one (else the deal's, else the company's),
    in the company's zone; greeted by their name, with the company's contact."""
    company = services.ws.company
    party = company.party
    language = record.language
    name = contact_name(record)
    if record.stored_signers:
        spec = next((s for s in record.stored_signers if s.position == signer), None)
        if spec is not None:
            name, language = spec.name, spec.language or language
    return Reader(company.translator(language or None), name,
                  " · ".join(way for way in (party.email, party.phone) if way))


def contact_name(record: DocumentRecord) -> str:
    """The person to greet at the counterparty (empty when the deal names none: never the company's name)."""
    return record.counterparty_contact


def invite_message(services: MessageServices, request: SigningRequest, record: DocumentRecord) -> OutgoingMessage:
    return _link_message(services, request, record, MessageKind.INVITE, f"invite:{request.id}", 0)


def reminder_message(services: MessageServices, request: SigningRequest, record: DocumentRecord,
                     number: int) -> OutgoingMessage:
    return _link_message(services, request, record, MessageKind.REMINDER, f"reminder:{request.id}:{number}", number)


def _link_message(services: MessageServices, request: SigningRequest, record: DocumentRecord, kind: MessageKind,
                  key: str, number: int) -> OutgoingMessage:
    link = services.requests.link_for(request, services.ws.settings.public_url)
    message_id = message_id_for(key)
    company, title = services.ws.company.party.name, record.title
    payload: bytes | str
    reader = client_reader(services, record, request.signer)
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


def code_message(services: MessageServices, request: SigningRequest, record: DocumentRecord, code: str,
                 sequence: int, intent: str = "sign") -> OutgoingMessage:
    """The one-time code, saying what it confirms: signing, or declining (``intent``)."""
    key = f"code:{request.id}:{sequence}"
    message_id = message_id_for(key)
    reader = client_reader(services, record, request.signer)
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


def declined_notice_message(services: MessageServices, request: SigningRequest,
                            record: DocumentRecord) -> OutgoingMessage:
    """To a signer whose document another required signer declined, by the channel of their own link; once per
    signer (``declined:<document>:<position>``)."""
    key = f"declined:{record.id}:{request.signer}"  # esign.pipeline.invitations.notice_key
    message_id = message_id_for(key)
    reader = client_reader(services, record, request.signer)
    company = services.ws.company.party.name
    payload: bytes | str
    if channel(request.channel).format == "email":
        payload = build_declined_notice(services.email_templates, from_addr=services.smtp.from_addr,
                                        to=request.destination, message_id=message_id, company_name=company,
                                        document_title=record.title, document_id=record.id, reader=reader)
    else:
        payload = sms_declined_notice_text(company_name=company, document_title=record.title, t=reader.t)
    return OutgoingMessage(dedupe_key=key, document_id=record.id, request_id=request.id, kind=MessageKind.NOTICE,
                           channel=request.channel, destination=request.destination, message_id=message_id,
                           payload=payload)
