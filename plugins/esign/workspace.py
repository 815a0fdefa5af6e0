"""The heavy objects of one process, built once and reused for every document.

Keys, the PAdES sealer, parsed templates, the company profile and the ledger engine are expensive to load;
a worker builds one ``Workspace`` per settings and keeps it (see :func:`workspace_for`).
"""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path

from cryptography import x509
from sqlalchemy import Engine

from esign.company import CompanyProfile, load_company
from esign.config import Settings, key_passphrase
from esign.render import TemplateLibrary
from esign.signing import PdfSealer, SigningIdentity, load_identity
from esign.store import Ledger, get_engine

#: Where each version of a document is stored, under ``<workdir>/documents/``.
VERSION_DIRS = {"rendered": "rendered", "company_signed": "company-signed", "final": "completed"}


class Workspace:
    """Lazily built, process-wide handles for one :class:`Settings`."""

    def __init__(self, settings: Settings, passphrase: bytes | None = None) -> None:
        self.settings = settings
        self._passphrase = passphrase  # tests pass it; processes read it from the environment

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

    @cached_property
    def identity(self) -> SigningIdentity:
        passphrase = self._passphrase if self._passphrase is not None else key_passphrase()
        return load_identity(self.settings.pkcs12_path, passphrase, self.settings.ca_cert_path)

    @cached_property
    def sealer(self) -> PdfSealer:
        return PdfSealer(self.identity)

    @cached_property
    def trust_roots(self) -> list[x509.Certificate]:
        """The company CA: what ``verify`` trusts. Read from the public CA file, no passphrase needed."""
        from esign.signing.keys import load_ca_certificates

        return load_ca_certificates(self.settings.ca_cert_path)

    def version_path(self, kind: str, document_id: str) -> Path:
        return self.settings.documents_dir / VERSION_DIRS[kind] / f"{document_id}.pdf"


_cache: dict[Settings, Workspace] = {}
_lock = threading.Lock()


def workspace_for(settings: Settings | None = None) -> Workspace:
    """The process-wide workspace for ``settings`` (default: from the environment)."""
    settings = settings or Settings.from_env()
    with _lock:
        ws = _cache.get(settings)
        if ws is None:
            ws = _cache[settings] = Workspace(settings)
        return ws


def reset_workspaces() -> None:
    """Forget cached workspaces (tests that change settings or keys)."""
    with _lock:
        _cache.clear()
