"""The heavy objects of one process, built once and reused for every document.

Keys, the PAdES sealer, parsed templates, the company profile and the ledger engine are expensive to load;
a worker builds one ``Workspace`` per settings and keeps it (the composition root's
:func:`esign.composition.workspace_for` does).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from sqlalchemy import Engine

from esign.company import CompanyProfile, load_company
from esign.config import Settings, key_passphrase
from esign.render import TemplateLibrary
from esign.signing import PdfSealer, SigningIdentity, load_identity
from esign.store import Ledger, get_engine

if TYPE_CHECKING:
    from pyhanko.sign.timestamps.api import TimeStamper

    from esign.signing.pades import LongTerm

#: Where each version of a document is stored, under ``<workdir>/documents/``.
VERSION_DIRS = {"rendered": "rendered", "company_signed": "company-signed", "final": "completed"}


class Workspace:
    """Lazily built, process-wide handles for one :class:`Settings`."""

    def __init__(self, settings: Settings, passphrase: bytes | None = None) -> None:
        self.settings = settings
        self._passphrase = passphrase  # tests pass it; processes read it from the settings (or the file they name)

    @cached_property
    def engine(self) -> Engine:
        return get_engine(self.settings.database_url)

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(self.engine)

    @cached_property
    def templates(self) -> TemplateLibrary:
        return TemplateLibrary(self.settings.templates_dir)

    @cached_property
    def company(self) -> CompanyProfile:
        return load_company(self.settings.company_file)

    @property
    def passphrase(self) -> bytes:
        return self._passphrase if self._passphrase is not None else key_passphrase(self.settings.variables)

    @cached_property
    def identity(self) -> SigningIdentity:
        return load_identity(self.settings.pkcs12_path, self.passphrase, self.settings.ca_cert_path)

    @cached_property
    def timestamper(self) -> TimeStamper:
        """The TSA of final seals (``ESIGN_TSA_URL``, else the demo authority in the keys folder)."""
        from esign.signing.timestamps import timestamper_for

        return timestamper_for(self.settings, self.passphrase)

    @cached_property
    def sealer(self) -> PdfSealer:
        """Company signatures and final seals; the seal's TSA and validation data are set up on the first seal."""
        return PdfSealer(self.identity, self._long_term)

    def _long_term(self) -> LongTerm:
        from esign.signing.ltv import ValidationDataCache, demo_crl_source, file_crl_source
        from esign.signing.pades import LongTerm

        settings = self.settings
        crls = (file_crl_source(settings.crl_path) if settings.crl_path is not None
                else demo_crl_source(settings.keys_dir, self.passphrase))
        return LongTerm(self.timestamper, ValidationDataCache(self.identity, self.timestamper, self.trust_roots, crls))

    @cached_property
    def trust_roots(self) -> list[x509.Certificate]:
        """The company CA (and the TSA's root when another CA issued it): what ``verify`` trusts. Public files,
        no passphrase needed."""
        from esign.signing.keys import load_ca_certificates

        roots = load_ca_certificates(self.settings.ca_cert_path)
        if self.settings.tsa_ca_path is not None:
            roots += [c for c in load_ca_certificates(self.settings.tsa_ca_path) if c not in roots]
        return roots

    def version_path(self, kind: str, document_id: str) -> Path:
        return self.settings.documents_dir / VERSION_DIRS[kind] / f"{document_id}.pdf"

