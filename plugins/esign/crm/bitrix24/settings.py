"""Where the portal is and how hard we may call it: the inbound webhook URL and the client's limits.

Why a class around the URL: the webhook code *is* the password. It lives in the URL path, so every message,
repr and log line shows the URL through :meth:`WebhookUrl.masked` only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from esign.errors import ConfigError
from esign.settings import Bitrix24Group, load_settings

ENV_WEBHOOK = "ESIGN_BITRIX24_WEBHOOK"
_PATH = re.compile(r"^/rest/(?P<user>\d+)/(?P<code>[A-Za-z0-9_]+)/?$")
MASK = "***"


@dataclass(frozen=True, slots=True)
class WebhookUrl:
    """``{scheme}://{host}/rest/{user_id}/{code}/`` split into parts; the host changes when a portal is renamed."""

    scheme: str
    host: str  # host[:port]
    user_id: str
    code: str = field(repr=False)

    @classmethod
    def parse(cls, url: str) -> WebhookUrl:
        """Accepts the URL as Bitrix24 shows it (with or without the trailing slash)."""
        parts = urlsplit(url.strip())
        match = _PATH.match(parts.path)
        if parts.scheme not in ("http", "https") or not parts.netloc or match is None or parts.query:
            raise ConfigError(f"{ENV_WEBHOOK}: expected https://<portal>/rest/<user id>/<code>/, "
                              f"got {_mask_text(url)!r}")
        return cls(parts.scheme, parts.netloc, match["user"], match["code"])

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.host}/rest/{self.user_id}/{self.code}/"

    def method_url(self, method: str) -> str:
        return f"{self.base}{method}"

    def masked(self) -> str:
        return f"{self.scheme}://{self.host}/rest/{self.user_id}/{MASK}/"

    def mask(self, message: str) -> str:
        """``message`` with the code hidden (error texts of the HTTP library may quote the URL)."""
        return message.replace(self.code, MASK) if self.code else message

    def __repr__(self) -> str:
        return f"WebhookUrl({self.masked()!r})"

    __str__ = masked


def _mask_text(url: str) -> str:
    return re.sub(r"(/rest/\d+/)[^/]+", r"\1" + MASK, url)


@dataclass(frozen=True, slots=True)
class Bitrix24Settings:
    """Connection and limits. Defaults fit a standard plan (burst 50, 2 requests/s); Enterprise: 250 and 5."""

    webhook: WebhookUrl
    burst: int = 50
    rate: float = 2.0  # requests per second the bucket drains
    max_attempts: int = 5  # per call, counting the first
    backoff_base: float = 1.0  # seconds; doubled per retry
    backoff_cap: float = 30.0
    timeout: float = 60.0  # the portal's own limit per request is 60 s
    method_wait_max: float = 660.0  # longest wait for a method paused by its time limit (window + 1 min)
    company_tax_field: str = "UF_CRM_CNPJ"  # company field with the CNPJ
    contact_tax_field: str = "UF_CRM_CPF"  # contact field with the CPF
    #: contact field with the signing role (signer/signatário, witness/testemunha, copy/cópia); "": deal contacts
    #: are not read (each deal then has its one signer, its primary contact)
    signer_role_field: str = "UF_CRM_ESIGN_ROLE"

    def __post_init__(self) -> None:
        if self.burst < 1 or self.rate <= 0 or self.max_attempts < 1 or self.timeout <= 0 or self.method_wait_max < 0:
            raise ConfigError("Bitrix24 limits: burst, rate, max_attempts and timeout must be positive")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Bitrix24Settings:
        """``ESIGN_BITRIX24_WEBHOOK`` plus optional ``ESIGN_BITRIX24_{BURST,RATE,MAX_ATTEMPTS,TIMEOUT,...}``."""
        return cls.from_group(load_settings(environ).bitrix24)

    @classmethod
    def from_group(cls, group: Bitrix24Group) -> Bitrix24Settings:
        """From the typed ``ESIGN_BITRIX24_*`` settings (:attr:`esign.settings.EsignSettings.bitrix24`)."""
        url = group.webhook.strip()
        if not url:
            raise ConfigError(f"{ENV_WEBHOOK}: not set (the inbound webhook URL, "
                              "https://<portal>/rest/<user id>/<code>/) and no Airflow connection bitrix24_default")
        return replace(cls(WebhookUrl.parse(url)), **group.options())

    @classmethod
    def from_connection(cls, *, host: str | None, login: str | None, password: str | None,
                        schema: str | None = None, extra: Mapping[str, Any] | None = None) -> Bitrix24Settings:
        """From an Airflow Connection: extra ``webhook_url``, or the URL as password, or host + login (user ID)
        + password (code). Other extras (``burst``, ``rate``, ...) set the limits."""
        extra = dict(extra or {})
        url = str(extra.pop("webhook_url", "") or "")
        if not url and password and password.startswith(("http://", "https://")):
            url = password
        if not url:
            if not (host and login and password):
                raise ConfigError("Airflow connection bitrix24_default: set extra webhook_url, or host, "
                                  "login (user ID) and password (webhook code)")
            scheme = "http" if schema == "http" else "https"
            netloc = host if "://" not in host else host.split("://", 1)[1]
            url = f"{scheme}://{netloc.rstrip('/')}/rest/{login}/{password}/"
        return cls(WebhookUrl.parse(url)).with_options(extra, source="connection extra ")

    def with_options(self, options: Mapping[str, Any], *, source: str) -> Bitrix24Settings:
        """Apply string options by field name (``burst``, ``rate``, ``company_tax_field``, ...)."""
        numeric: dict[str, type[int] | type[float]] = {
            "burst": int, "rate": float, "max_attempts": int, "backoff_base": float, "backoff_cap": float,
            "timeout": float, "method_wait_max": float}
        values: dict[str, Any] = {}
        for key, raw in options.items():
            if key in numeric:
                try:
                    values[key] = numeric[key](raw)
                except (TypeError, ValueError):
                    raise ConfigError(f"{source}{key.upper()}: not a number ({raw!r})") from None
            elif key in ("company_tax_field", "contact_tax_field", "signer_role_field"):
                values[key] = str(raw).strip()
        return replace(self, **values)
