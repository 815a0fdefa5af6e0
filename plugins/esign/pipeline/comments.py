"""The texts of the CRM timeline comments the pipeline writes, in the company's language (pt-BR by default).

Why one module: every comment a sales team reads on a deal goes through the catalogue (domain ``pipeline``), and
the write-back adds its own marker to each, so the wording can change without touching the exactly-once logic.
A quarantine's reasons (recorded in English, per field) are shown in the reader's language; a failure's and a
client's decline are inserted as they were recorded.
"""

from __future__ import annotations

from esign.i18n import N_, Translator
from esign.pipeline.services import Services
from esign.reasons import describe_reason
from esign.store import DocumentRecord

EMAIL, SMS = N_("e-mail"), N_("SMS")


def company_translator(services: Services) -> Translator:
    """The company's translator: the CRM is read by its staff, in the company's language and time zone."""
    return services.ws.company.translator()


def awaiting(t: Translator, record: DocumentRecord, by_email: bool) -> str:
    return t.gettext("Contract {document} sent for signature by {channel}.").format(
        document=record.id, channel=t.gettext(EMAIL if by_email else SMS))


def signed(t: Translator, record: DocumentRecord, sha256: str, verify_url: str, file_url: str | None = None) -> str:
    """``file_url``: where staff download the final PDF, when the comment links it instead of attaching it."""
    text = t.gettext("Contract {document} signed by all parties. Final file verified (SHA-256 {sha256}). "
                     "Verification: {url}").format(document=record.id, sha256=sha256, url=verify_url)
    if file_url:
        text += " " + t.gettext("Final file: {url}").format(url=file_url)
    return text


def declined(t: Translator, record: DocumentRecord, reason: str, by: str = "") -> str:
    """``by``: who declined, when the document has several signers (the others were told)."""
    if by:
        return t.gettext("{name} declined contract {document}; the other signers were told. Reason: {reason}").format(
            name=by, document=record.id, reason=reason)
    return t.gettext("The client declined contract {document}. Reason: {reason}").format(
        document=record.id, reason=reason)


def expired(t: Translator, record: DocumentRecord) -> str:
    return t.gettext("The signing link of contract {document} expired without a signature.").format(
        document=record.id)


def failed(t: Translator, record: DocumentRecord) -> str:
    return t.gettext("Contract {document} failed: {reason}").format(document=record.id, reason=record.reason or "-")


def send_failed(t: Translator, record: DocumentRecord) -> str:
    return t.gettext("Sending the contract failed: {reason}").format(reason=record.reason or "-")


def quarantined(t: Translator, record: DocumentRecord) -> str:
    """What to fix, and how to start again."""
    return t.gettext("Contract not generated: the deal's data need correcting ({reason}). Correct them and move the "
                     "deal back to the preparation stage. Document {document}.").format(
        reason=describe_reason(record.reason or "-", t), document=record.id)
