"""What people read about a verdict: its title and summary, the reasons, the signature facts, in their language.

Shared by the CLI's human output and the verification pages; the JSON output keeps the machine codes instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from esign.i18n import N_, Translator
from esign.model import Stage
from esign.verify.reasons import describe
from esign.verify.verifier import ALTERED, AUTHENTIC, INCOMPLETE, UNKNOWN, VerificationResult

TITLES = {
    AUTHENTIC: N_("Authentic document"),
    INCOMPLETE: N_("Intermediate version"),
    ALTERED: N_("Altered document"),
    UNKNOWN: N_("Document not recognized"),
}
SUMMARIES = {
    AUTHENTIC: N_("This is the completed document, signed by every party and sealed; the file has not been changed "
                  "since the seal."),
    INCOMPLETE: N_("This is an earlier version issued here, not the completed contract: it is unchanged, but it is "
                   "not the document to keep."),
    ALTERED: N_("The file was changed after it was signed, or its signatures do not hold. Do not trust its "
                "content."),
    UNKNOWN: N_("This file was not issued here, or it could not be examined."),
}
VERSIONS = {
    "rendered": N_("unsigned original"),
    "company_signed": N_("signed by the company"),
    "final": N_("completed and sealed"),
}
STAGES = {
    Stage.DRAFT: N_("draft"), Stage.COMPANY_SIGNED: N_("signed by the company"), Stage.SENT: N_("sent to the client"),
    Stage.VIEWED: N_("viewed by the client"), Stage.CLIENT_SIGNED: N_("signed by the client"),
    Stage.COMPLETED: N_("completed"), Stage.DECLINED: N_("declined"), Stage.EXPIRED: N_("expired"),
    Stage.CANCELED: N_("canceled"), Stage.FAILED: N_("failed"), Stage.QUARANTINED: N_("quarantined"),
}


@dataclass(frozen=True, slots=True)
class SignatureView:
    """One signature as people read it."""

    signer: str
    signed_at: str  # as the signer's clock said
    trusted_time: str  # the timestamp authority's time, when valid and trusted
    ok: bool
    facts: list[tuple[str, bool]]  # (what, holds)


@dataclass(frozen=True, slots=True)
class VerdictView:
    status: str
    title: str
    summary: str
    reasons: list[str]
    stage: str
    version: str
    trusted_time: str
    signatures: list[SignatureView]


def _when(t: Translator, iso: str | None) -> str:
    if not iso:
        return ""
    try:
        return t.format_datetime(datetime.fromisoformat(iso), seconds=True)
    except ValueError:
        return iso


def view(result: VerificationResult, t: Translator) -> VerdictView:
    """The verdict in ``t``'s language (reasons through the catalogue, times in the reader's zone)."""
    signatures = [SignatureView(
        signer=check.signer, signed_at=_when(t, check.signed_at), trusted_time=_when(t, check.timestamp),
        ok=check.ok, facts=[
            (t.gettext("intact"), check.intact), (t.gettext("valid"), check.valid),
            (t.gettext("trusted by the company CA"), check.trusted),
            (t.gettext("covers the entire file"), check.covers_entire_file),
            (t.gettext("certified (no changes allowed)"), check.certified),
            (t.gettext("trusted timestamp"), check.timestamp is not None),
        ]) for check in result.signatures]
    stage = next((label for key, label in STAGES.items() if key.value == result.stage), None)
    version = VERSIONS.get(result.version or "")
    return VerdictView(
        status=result.status, title=t.gettext(TITLES[result.status]), summary=t.gettext(SUMMARIES[result.status]),
        reasons=[describe(r, t.gettext) for r in result.reasons], stage=t.gettext(stage) if stage else "",
        version=t.gettext(version) if version else "", trusted_time=_when(t, result.trusted_time),
        signatures=signatures,
    )
