"""What a firing rule does: CRM moves and comments, tasks, reminders and emails (queued in the outbox).

A manager's e-mail carries the configured text, then the document's facts and links in the company's language
(``rules.notice``); texts may use ``{reason}``, the client's decline reason.

The CRM protocol has no tasks: a follow-up task is a timeline comment prefixed ``Tarefa:``. Messages take the
firing's key as their outbox dedupe key, so a retried firing never sends twice.
"""

from __future__ import annotations

from dataclasses import replace
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate

from esign.dispatch.email import replace_message_id
from esign.dispatch.records import Channel, MessageKind, OutgoingMessage, message_id_for
from esign.errors import EsignError
from esign.model import Stage
from esign.requests.records import RequestStatus
from esign.rules import notice
from esign.rules.config import Action, Rule
from esign.rules.ports import RuleServices
from esign.rules.triggers import Occurrence
from esign.store import DocumentRecord, EventInfo


class RuleActionError(EsignError):
    """An action could not be done (no signing link to remind, no manager email, ...)."""


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def render(text: str, rule: Rule, occurrence: Occurrence, record: DocumentRecord | None, reason: str = "") -> str:
    values = _Blank(deal_id=occurrence.deal_id, document_id=occurrence.document_id or "", rule=rule.name,
                    title=record.title if record else "", counterparty=record.counterparty_name if record else "",
                    reason=reason)
    return text.format_map(values)


def run_action(services: RuleServices, rule: Rule, occurrence: Occurrence, action: Action, n: int) -> str:
    """Do one action; a short note of what was done (for the firing's detail)."""
    record = services.ws.ledger.get(occurrence.document_id) if occurrence.document_id else None
    deal = int(occurrence.deal_id)
    p = action.params
    if action.type == "move_deal":
        services.crm.move_deal(deal, p["stage"])
        return f"deal moved to {p['stage']}"
    if action.type == "comment":
        services.crm.add_comment(deal, render(p["text"], rule, occurrence, record))
        return "comment added"
    if action.type == "task":
        services.crm.add_comment(deal, "Tarefa: " + render(p["text"], rule, occurrence, record))
        return "task added (as a timeline comment)"
    if action.type == "send_document":
        trigger = services.config.stages.trigger
        services.crm.move_deal(deal, trigger)
        services.crm.add_comment(deal, f"Contrato ({p['template']}, canal {p.get('channel', 'auto')}) solicitado "
                                       f"pela regra {rule.name}: o próximo esign_send gera e envia.")
        return f"deal queued for esign_send in {trigger}"
    key = f"rule:{occurrence.key}:{n}"
    if action.type == "remind":
        return _remind(services, record, key)
    if action.type == "email_manager":
        return _email_manager(services, rule, occurrence, record, action, key)
    raise RuleActionError(f"unknown action {action.type!r}")


def _remind(services: RuleServices, record: DocumentRecord | None, key: str) -> str:
    from esign.requests.messages import reminder_message

    if record is None or record.stage not in (Stage.SENT, Stage.VIEWED):
        raise RuleActionError("remind: the document is not waiting for the client")
    waiting = [q for _p, q in sorted(services.requests.current_for_documents([record.id]).get(record.id, {}).items())
               if q.status is RequestStatus.OPEN]
    if not waiting:
        raise RuleActionError(f"remind: document {record.id} has no open signing link")
    queued = []
    for request in waiting:  # every signer whose turn it is (one, in sequential order)
        earlier = [e for e in services.outbox.entries(document_id=record.id)
                   if str(e.kind) == MessageKind.REMINDER and e.request_id == request.id]
        message = reminder_message(services, request, record, len(earlier) + 1)
        signer_key = key if request.signer == 1 else f"{key}:{request.signer}"
        new_id = message_id_for(signer_key)
        payload = message.payload
        if request.channel == Channel.EMAIL and isinstance(payload, bytes):
            payload = replace_message_id(payload, new_id)
        entry = services.outbox.enqueue(replace(message, dedupe_key=signer_key, message_id=new_id, payload=payload))
        services.ws.ledger.log(record.id, "reminder_queued", EventInfo(actor="rules", channel=request.channel,
                                                                       detail=f"outbox {entry.id}"))
        queued.append(str(entry.id))
    return f"reminder queued (outbox {', '.join(queued)})"


def _email_manager(services: RuleServices, rule: Rule, occurrence: Occurrence, record: DocumentRecord | None,
                   action: Action, key: str) -> str:
    manager_id = record.manager_id if record else None
    if manager_id is None:
        manager_id = _deal_manager(services, occurrence.deal_id)
    email = _manager_email(services, manager_id)
    if not email:
        raise RuleActionError(f"email_manager: deal {occurrence.deal_id} has no responsible manager with an email")
    msg = EmailMessage(policy=SMTP)  # CRLF line ends: the sender dot-stuffs by lines as SMTP counts them
    msg["From"] = services.smtp.from_addr
    msg["To"] = email
    reason = notice.decline_reason(services, record)
    msg["Subject"] = render(action.params["subject"], rule, occurrence, record, reason)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message_id_for(key)
    text = render(action.params["text"], rule, occurrence, record, reason)
    if record is not None:  # the facts to act on, whatever the configured text says
        text += "\n\n" + notice.details(services, record, services.ws.company.translator())
    msg.set_content(text)
    msg["Content-Language"] = services.ws.company.language.replace("_", "-")  # after: set_content clears it
    entry = services.outbox.enqueue(OutgoingMessage(
        dedupe_key=key, document_id=occurrence.document_id or f"deal:{occurrence.deal_id}"[:40], request_id="",
        kind=MessageKind.NOTICE, channel=Channel.EMAIL, destination=email, message_id=str(msg["Message-ID"]),
        payload=msg.as_bytes()))
    return f"manager emailed (outbox {entry.id})"


def _deal_manager(services: RuleServices, deal_id: str) -> str | None:
    stage = services.crm.get_deal_stage(int(deal_id))
    fetched = services.crm.fetch_deals(stage, int(deal_id), int(deal_id)) if stage else []
    manager = fetched[0].deal.manager if fetched else None
    return manager.id if manager else None


def _manager_email(services: RuleServices, manager_id: str | None) -> str:
    """The manager's e-mail as the CRM knows it (Bitrix24 ``user.get`` or the embedded CRM)."""
    if not manager_id or not manager_id.isdigit():
        return ""
    person = services.crm.people([manager_id]).get(manager_id)
    return (person.email or "") if person else ""
