"""What the portal needs from the rest of the system, gathered in one object built by the edge."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509

from esign.company import CompanyProfile
from esign.config import Settings
from esign.i18n import DEFAULT_LOCALE, DEFAULT_TIMEZONE
from esign.requests import CodeSender, SigningRequests
from esign.store import Ledger

if TYPE_CHECKING:
    from esign.verify import VerificationResult

#: Uploads to /verify: our documents are under 1 MB; a scanned annex might add a few.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
#: Per client IP and minute, in each process (the per-link limits on codes are in the signing requests).
UPLOADS_PER_MINUTE = 10
CODE_POSTS_PER_MINUTE = 30


#: ``esign.verify.verify_untrusted``: (pdf bytes, ledger, trust roots) -> result (examined in a sandbox).
VerifyFn = Callable[[bytes, Ledger, Sequence[x509.Certificate]], "VerificationResult"]


@dataclass(frozen=True, slots=True)
class PortalSettings:
    """Public URL (decides the cookies' Secure flag), where documents live and where page images are cached."""

    public_url: str
    documents_dir: Path
    cache_dir: Path
    company_name: str = ""
    company_email: str = ""  # shown to clients on error pages: whom to ask for a new link
    company_phone: str = ""
    language: str = DEFAULT_LOCALE  # the company's: what its clients read
    timezone: str = DEFAULT_TIMEZONE  # every time a client reads is shown in this zone
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    uploads_per_minute: int = UPLOADS_PER_MINUTE
    code_posts_per_minute: int = CODE_POSTS_PER_MINUTE  # asking for a code and typing one, over every link
    trusted_proxies: tuple[str, ...] = ()  # whose X-Forwarded-For is believed (esign.portal.security)

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @classmethod
    def from_settings(cls, settings: Settings, company_name: str = "",
                      company: CompanyProfile | None = None) -> PortalSettings:
        """From the run's settings and, when given, the company profile (name, contact, language, time zone)."""
        if company is None:
            return cls(public_url=settings.public_url, documents_dir=settings.documents_dir,
                       cache_dir=settings.workdir / "portal-cache", company_name=company_name)
        party = company.party
        return cls(public_url=settings.public_url, documents_dir=settings.documents_dir,
                   cache_dir=settings.workdir / "portal-cache", company_name=company_name or party.name,
                   company_email=party.email, company_phone=party.phone, language=company.language,
                   timezone=company.timezone)


@dataclass(frozen=True, slots=True)
class PortalServices:
    """Everything the portal calls: the ledger, the signing requests, the code channel and the verifier."""

    ledger: Ledger
    requests: SigningRequests
    sender: CodeSender
    settings: PortalSettings
    verify: VerifyFn
    trust_roots: Sequence[x509.Certificate] = field(default_factory=tuple)
    #: Called with the document's ID after a signer answered, once the page went back (the next signers' invitations
    #: and the others' notice of a decline, at once rather than at the next collect run, which does it otherwise).
    after_answer: Callable[[str], object] | None = None
