"""The message that tells a client their signature request was canceled, by the channel their link went by.

Recorded in the outbox like every message (one per signer of a document: the dedupe key is the document's and
the signer's), so a repeated cancel or a crash never tells anyone twice. Plain text: it carries no link and nothing
to do.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate

from esign.dispatch.records import Channel, MessageKind, OutgoingMessage, message_id_for
from esign.dispatch.sms import fit_sms
from esign.dispatch.texts import truncate
from esign.i18n import Translator
from esign.pipeline.services import Services
from esign.requests.records import SigningRequest
from esign.store import DocumentRecord


def client_translator(services: Services, record: DocumentRecord) -> Translator:
    """The language the client reads: the company's (the ledger keeps no per-client language yet)."""
    return services.ws.company.translator()


def _contact(services: Services, t: Translator) -> str:
    party = services.ws.company.party
    ways = [w for w in (party.email, party.phone) if w]
    if not ways:
        return party.name
    return t.gettext("%(company)s, %(contact)s") % {"company": party.name, "contact": " · ".join(ways)}


def cancel_notice(services: Services, record: DocumentRecord, request: SigningRequest) -> OutgoingMessage:
    """The outbox message telling the client (at the link's destination) that the request was canceled."""
    t = client_translator(services, record)
    company = services.ws.company.party.name
    # one per signer whose link was live (the first signer's key is the document's, as before several signers)
    key = f"cancel-notice:{record.id}" + (f":{request.signer}" if request.signer != 1 else "")
    message_id = message_id_for(key)
    values = {"company": company, "title": record.title, "id": record.id, "contact": _contact(services, t)}
    payload: bytes | str
    if request.channel == Channel.EMAIL:
        message = EmailMessage(policy=SMTP)  # CRLF line ends, encoded headers: the bytes go to the relay as they are
        message["From"] = services.smtp.from_addr
        message["To"] = request.destination
        message["Subject"] = t.gettext("Signature request canceled: %(title)s") % {"title": truncate(record.title, 120)}
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = message_id
        message["Auto-Submitted"] = "auto-generated"
        message["X-Esign-Document"] = record.id
        body = t.gettext(
            "Hello,\n\n%(company)s canceled the signature request for the document “%(title)s” (code %(id)s). "
            "The link you received no longer works, and there is nothing you need to do.\n\n"
            "If you have questions, contact %(contact)s.\n") % values
        message.set_content(body)
        payload = message.as_bytes()
    else:
        payload = fit_sms(t.gettext("%(company)s: the signature request for “%(title)s” was canceled; the link you "
                                    "received no longer works."), record.title, company=company)  # one GSM-7 segment
    return OutgoingMessage(dedupe_key=key, document_id=record.id, request_id=request.id, kind=MessageKind.NOTICE,
                           channel=request.channel, destination=request.destination, message_id=message_id,
                           payload=payload)
