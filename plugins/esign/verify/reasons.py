"""Why a verdict is what it is: stable machine codes with parameters, and their English source text.

The JSON output carries ``code`` and ``params``; people read :func:`describe` through the translation catalogue
at the edge (the CLI's human output, the verification pages). A ``detail`` param (a library's own message, in
English) is for the JSON and the logs only: no human text shows it. Codes never change meaning; new situations
get new codes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from esign.i18n import N_

Param = str | int

#: code -> English source text (a msgid; ``%(name)s`` placeholders are the reason's params).
MESSAGES: dict[str, str] = {
    # what the file is
    "not_pdf": N_("not a PDF file"),
    "too_large": N_("the file is too large to examine (%(size)s bytes; the limit is %(limit)s)"),
    "too_many_objects": N_("the file declares too many objects to examine (%(count)s; the limit is %(limit)s)"),
    "too_complex": N_("the file is too large or too complex to examine within the time and memory allowed"),
    "busy": N_("the verifier is busy; try again in a moment"),
    "unreadable": N_("the PDF structure cannot be read"),
    "no_signature": N_("the file carries no signature"),
    "too_many_signatures": N_("the file carries %(count)s signatures (more than %(limit)s)"),
    # what the ledger says
    "issued_final": N_("the completed document, signed by every party and sealed"),
    "not_issued": N_("no document issued here has this content"),
    "claimed_not_issued": N_("document %(document)s was never issued here"),
    "hash_mismatch": N_("the file claims to be document %(document)s, but its SHA-256 matches none of its issued "
                     "versions"),
    "signed_not_issued": N_("signed with the company's certificate, but these bytes were never issued here"),
    "issued_unsigned_version": N_("the issued version was signed, but this file carries no signature"),
    "intermediate_rendered": N_("an intermediate version: the unsigned original, before anyone signed"),
    "intermediate_company_signed": N_("an intermediate version: signed by the company, before the client signed"),
    "stage_waiting_client": N_("the client has not signed yet"),
    "stage_declined": N_("the client declined to sign this document"),
    "stage_expired": N_("the signing link expired before the client signed"),
    "stage_canceled": N_("the document was canceled"),
    "stage_failed": N_("the document could not be completed"),
    "stage_sealing": N_("the client signed; the sealed final version is being prepared"),
    "stage_completed_elsewhere": N_("the document was completed: its sealed final version is the one to keep"),
    "not_final_seal": N_("the file is not the sealed final version of a document"),
    # offline
    "offline_no_ledger": N_("checked offline: whether this is the latest version issued, and the document's current "
                         "stage, were not checked (no ledger)"),
    "offline_seal_ok": N_("the seal is valid, trusted and covers the entire file, with nothing added after it (ledger "
                          "not consulted)"),
    "offline_unsigned": N_("without the ledger, an unsigned file cannot be told apart from a forgery"),
    # signatures (cryptography and trust)
    "signature_unreadable": N_("signature %(field)s cannot be validated: its dictionary or its CMS is malformed"),
    "signature_bytes_changed": N_("signature %(field)s: the signed bytes were changed"),
    "signature_invalid": N_("signature %(field)s: the signature value is invalid"),
    "signer_not_trusted": N_("signature %(field)s: the signer is not trusted by the company CA"),
    # structure (ISO 32000-2 §12.8, ETSI EN 319 142-1)
    "revisions_unreadable": N_("the file's revisions cannot be read strictly (cross-reference or trailer malformed)"),
    "bytes_after_last_revision": N_("%(count)s bytes follow the end of the file's last revision"),
    "byte_range_malformed": N_("signature %(field)s: its /ByteRange is not four integers starting at 0"),
    "byte_range_not_at_revision_end": N_("signature %(field)s: its signed range does not end where a revision ends"),
    "signature_dict_missing": N_("signature %(field)s: its signature dictionary is missing from the cross-reference"),
    "signature_dict_unreadable": N_("signature %(field)s: its signature dictionary cannot be read"),
    "signature_dict_not_in_signed_revision": N_("signature %(field)s: its dictionary is not the one written in the "
                                             "revision it signs"),
    "signature_dict_redefined": N_("signature %(field)s: its dictionary is redefined by a later update"),
    "duplicate_key": N_("signature %(field)s: its dictionary repeats the key /%(key)s"),
    "contents_not_hex_string": N_("signature %(field)s: /Contents is not a hexadecimal string"),
    "gap_not_contents": N_("signature %(field)s: the unsigned gap is not exactly its /Contents"),
    "contents_not_canonical": N_("signature %(field)s: /Contents is not written as the signer wrote it"),
    "contents_padding_altered": N_("signature %(field)s: the padding after the signature in /Contents was changed"),
    "contents_malformed": N_("signature %(field)s: /Contents does not hold one complete signature"),
    "content_after_signature": N_("signature %(field)s: the file was changed after it (updates added: %(count)s)"),
}


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason of a verdict: a code from :data:`MESSAGES` and its parameters."""

    code: str
    params: Mapping[str, Param] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "params": dict(self.params), "message": self.english()}

    def english(self) -> str:
        """The source text with the parameters filled in (logs and the JSON's ``message``)."""
        return describe(self, lambda text: text)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Reason:
        params = data.get("params") or {}
        assert isinstance(params, dict)
        return cls(str(data["code"]), {str(k): v for k, v in params.items() if isinstance(v, str | int)})


def reason(code: str, **params: Param) -> Reason:
    if code not in MESSAGES:
        raise KeyError(f"unknown reason code {code!r}")
    return Reason(code, params)


def describe(item: Reason, gettext: Callable[[str], str]) -> str:
    """The reason in the reader's language: ``gettext`` translates the source text, then params fill it."""
    template = gettext(MESSAGES.get(item.code, item.code))
    try:
        return template % dict(item.params)
    except (KeyError, TypeError, ValueError):  # a translation that lost a placeholder must not hide the reason
        return template
