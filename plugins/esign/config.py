"""The folders, addresses and secrets the pipeline works with, resolved from the typed :mod:`esign.settings`.

:class:`Settings` keeps the :class:`~esign.settings.EsignSettings` it was resolved from (``variables``), so whoever
holds a workspace holds every ``ESIGN_*`` value, read once by the composition root (:mod:`esign.composition`).
Secrets (the key passphrase, the link secret) come only from those settings or a file they name (or, on a demo
installation, the random files ``esign demo`` keeps in its keys folder); never from code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from esign.errors import ConfigError
from esign.settings import EsignSettings, load_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Settings:
    """Where things live and how to reach them. Build with :meth:`from_env`."""

    workdir: Path
    database_url: str
    templates_dir: Path
    company_file: Path
    pipeline_file: Path
    reports_dir: Path
    keys_dir: Path
    pkcs12_path: Path
    ca_cert_path: Path
    public_url: str
    rules_file: Path  # the automation rules (ESIGN_RULES_FILE, else rules.yaml beside the pipeline file)
    #: The typed ``ESIGN_*`` settings these were resolved from: secrets, groups (SMTP, SMS, Bitrix24, TSA), limits.
    variables: EsignSettings = field(repr=False)
    tsa_url: str = ""  # RFC 3161 over HTTP; empty: the demo authority in keys_dir
    tsa_ca_path: Path | None = None  # the TSA's root when the company CA did not issue it (verification trusts it)
    crl_path: Path | None = None  # the company CA's current CRL; None: the demo CA's, beside its certificate

    @property
    def documents_dir(self) -> Path:
        return self.workdir / "documents"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, project_dir: Path | None = None) -> Settings:
        """The folders and addresses of ``environ`` (default: this process's); every bad variable in one error.
        Edges call :func:`esign.composition.read_settings`; this is for tests and tools."""
        return cls.from_settings(load_settings(environ), project_dir)

    @classmethod
    def from_settings(cls, env: EsignSettings, project_dir: Path | None = None) -> Settings:
        """Resolve the relative defaults: the project folder holds config and templates, the runtime folder the
        rest."""
        root = Path(env.project_dir or project_dir or Path.cwd())
        workdir = Path(env.home or root / "var").resolve()
        keys_dir = Path(env.keys_dir or workdir / "keys")
        pipeline_file = Path(env.pipeline_file or root / "config" / "pipeline.yaml")
        return cls(
            workdir=workdir,
            database_url=env.database_url or f"sqlite:///{workdir / 'esign.db'}",
            templates_dir=Path(env.templates_dir or root / "templates"),
            company_file=Path(env.company_file or root / "config" / "company.yaml"),
            pipeline_file=pipeline_file,
            reports_dir=Path(env.reports_dir or workdir / "reports"),
            keys_dir=keys_dir,
            pkcs12_path=Path(env.pkcs12_file or keys_dir / "director.p12"),
            ca_cert_path=Path(env.ca_cert_file or keys_dir / "company-ca.pem"),
            public_url=env.public_url,
            rules_file=Path(env.rules_file or pipeline_file.parent / "rules.yaml"),
            variables=env,
            tsa_url=env.tsa.url,
            tsa_ca_path=Path(env.tsa.ca_file) if env.tsa.ca_file else None,
            crl_path=Path(env.crl_file) if env.crl_file else None,
        )

    def verify_url(self, document_id: str) -> str:
        """The public page the QR code on a certificate of completion points to."""
        return f"{self.public_url}/verify/{document_id}"


#: The demo's random secrets, kept in the working folder's keys folder by ``esign demo``: read when neither the
#: variable nor its ``_FILE`` is set, so ``esign portal`` serves the demo's links after the demo ended.
DEMO_SECRET_FILES = {"ESIGN_KEY_PASSPHRASE": "demo-passphrase", "ESIGN_LINK_SECRET": "demo-link-secret"}
#: Each secret's value and the file naming it, as the settings read them.
_SECRETS: dict[str, Callable[[EsignSettings], tuple[str, str]]] = {
    "ESIGN_KEY_PASSPHRASE": lambda env: (env.key_passphrase, env.key_passphrase_file),
    "ESIGN_LINK_SECRET": lambda env: (env.link_secret, env.link_secret_file),
    "ESIGN_TSA_PASSWORD": lambda env: (env.tsa.password, env.tsa.password_file),
}
_ANNOUNCED: set[str] = set()  # demo files already named in the log (once per process, not per request)


def demo_secret_path(name: str, env: EsignSettings) -> Path:
    """Where ``esign demo`` keeps the secret ``name``: ``<keys folder>/demo-...`` (ESIGN_KEYS_DIR, else the keys
    folder of ESIGN_HOME, else ``var/keys`` of the project)."""
    if env.keys_dir:
        keys_dir = Path(env.keys_dir)
    else:
        root = Path(env.project_dir or Path.cwd())
        keys_dir = Path(env.home or root / "var") / "keys"
    return keys_dir / DEMO_SECRET_FILES[name]


def secret_configured(name: str, env: EsignSettings) -> bool:
    """Whether the operator set the secret ``name`` or its ``_FILE`` (the demo then keeps its hands off)."""
    value, file_name = _SECRETS[name](env)
    return bool(value or file_name)


def _secret(name: str, what: str, env: EsignSettings) -> bytes:
    """A secret from ``NAME``, from the file named by ``NAME_FILE`` (container secrets), or from the demo's file."""
    value, file_name = _SECRETS[name](env)
    if value:
        return value.encode()
    if not file_name and name in DEMO_SECRET_FILES and (demo := demo_secret_path(name, env)).is_file():
        if str(demo) not in _ANNOUNCED:
            _ANNOUNCED.add(str(demo))
            log.warning("%s is not set: using the demo's secret in %s", name, demo)
        file_name = str(demo)
    if file_name:
        path = Path(file_name)
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE: cannot read {path}: {exc.strerror}") from exc
        if not secret:
            raise ConfigError(f"{name}_FILE: {path} is empty")
        return secret.encode()
    raise ConfigError(f"{name}: not set (set it, or {name}_FILE, to {what})")


def key_passphrase(env: EsignSettings) -> bytes:
    """The PKCS#12 passphrase: ``ESIGN_KEY_PASSPHRASE`` or the file named by ``ESIGN_KEY_PASSPHRASE_FILE``."""
    return _secret("ESIGN_KEY_PASSPHRASE", "the passphrase of the signing keys", env)


def link_secret(env: EsignSettings) -> bytes:
    """The HMAC key that derives signing-link tokens and hashes one-time codes (``ESIGN_LINK_SECRET``)."""
    secret = _secret("ESIGN_LINK_SECRET", "a random string of at least 32 characters", env)
    if len(secret) < 32:
        raise ConfigError("ESIGN_LINK_SECRET: must be at least 32 characters long")
    return secret


def tsa_credentials(env: EsignSettings) -> tuple[str, str] | None:
    """HTTP basic credentials for the TSA (``ESIGN_TSA_USERNAME`` + ``ESIGN_TSA_PASSWORD[_FILE]``), if any."""
    if not env.tsa.username:
        return None
    return env.tsa.username, _secret("ESIGN_TSA_PASSWORD", "the TSA password of ESIGN_TSA_USERNAME", env).decode()
