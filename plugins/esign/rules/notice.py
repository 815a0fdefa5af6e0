"""What a rule's e-mail to the responsible manager says beside the configured text, in the company's language.

The configured text is the ops' own sentence; the facts a manager needs to act come from here so that no rule can
forget them: the document and its client, its stage, the client's reason when they declined, and two links, the
staff register's page of the document (behind the staff login) and its public verification page.
"""

from __future__ import annotations

from esign.i18n import Translator
from esign.model import Stage
from esign.model.labels import stage_label
from esign.rules.ports import RuleServices
from esign.store import DocumentRecord


def staff_url(services: RuleServices, document_id: str) -> str:
    """The document's page in the staff register, on the public address."""
    return f"{services.ws.settings.public_url}/staff/documents/{document_id}"


def decline_reason(services: RuleServices, record: DocumentRecord | None) -> str:
    """The reason the client typed when declining (empty when the document was not declined)."""
    if record is None or record.stage is not Stage.DECLINED:
        return ""
    request = services.requests.decline_of(record.id)
    return ((request.decline_reason if request else None) or record.reason or "").strip()


def details(services: RuleServices, record: DocumentRecord, t: Translator) -> str:
    """The lines under the configured text: document, client, stage, reason (declined) and the two links."""
    lines = [
        t.gettext("Document: {title} ({document})").format(title=record.title, document=record.id),
        t.gettext("Client: {name}").format(name=record.counterparty_name),
        t.gettext("Status: {stage}").format(stage=stage_label(record.stage, t)),
    ]
    reason = decline_reason(services, record)
    if reason:
        lines.append(t.gettext("Reason given by the client: {reason}").format(reason=reason))
    lines += [
        "",
        t.gettext("See the document and its history in the staff register: {url}").format(
            url=staff_url(services, record.id)),
        t.gettext("Public verification page: {url}").format(url=services.ws.settings.verify_url(record.id)),
    ]
    return "\n".join(lines)
