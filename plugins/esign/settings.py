"""Every ``ESIGN_*`` variable in one place: its type, default and meaning, validated together.

Why one class: a deployment with three wrong variables should hear about all three in one message, not one per
restart. :func:`load_settings` reads a mapping (the process environment by default) and turns pydantic's report
into one :class:`~esign.errors.ConfigError` naming each variable and its problem.

Groups follow the variables' prefixes (``ESIGN_SMTP_*`` → :attr:`EsignSettings.smtp`, and so on); paths, secrets
and operations settings sit at the top level. An empty variable counts as unset (docker-compose passes ``${X:-}``).
Airflow Connections still take precedence where the edge reads them (``esign.hooks.airflow_services``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from esign.errors import ConfigError

PREFIX = "ESIGN_"

#: Variables a program of this project sets for its own child processes; listed, but not for people to set.
INTERNAL = frozenset({"ESIGN_KERNEL_LOG"})


def _http_url(value: str, *, optional: bool) -> str:
    value = value.strip()
    if optional and not value:
        return value
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"must start with http:// or https:// (got {value!r})")
    return value


class _Group(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SmtpGroup(_Group):
    """The SMTP relay when there is no ``smtp_default`` Connection; defaults reach the local demo server."""

    host: str = Field(default="127.0.0.1", description="SMTP relay host")
    port: int = Field(default=8025, ge=1, le=65535, description="SMTP relay port")
    user: str = Field(default="", description="SMTP login (required when a password is set)")
    password: str = Field(default="", repr=False, description="SMTP password (secret)")
    starttls: bool = Field(default=False, description="upgrade to TLS with STARTTLS")
    ssl: bool = Field(default=False, description="TLS from the start (SMTPS); not with STARTTLS")
    timeout: float = Field(default=30.0, gt=0, description="seconds per SMTP conversation")
    # The default equals esign.dispatch.email.SmtpSettings.from_addr (checked by a test).
    from_: str = Field(default="Assinatura Eletrônica <no-reply@esign.local>", alias="from",
                       description="the From header of messages to clients")


class SmsGroup(_Group):
    """An HTTP SMS provider; without a URL, messages go to the embedded outbox file."""

    url: str = Field(default="", description="the provider (JSON POST, bearer token); empty: the outbox file")
    api_key: str = Field(default="", repr=False, description="the provider's token (secret; needed with the URL)")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value, optional=True)


class Bitrix24Group(_Group):
    """The Bitrix24 portal when there is no ``bitrix24_default`` Connection; limits fit a standard plan."""

    webhook: str = Field(default="", repr=False, description="inbound webhook URL https://<portal>/rest/<user>/<code>/ "
                                                     "(secret: the code is the password)")
    burst: int = Field(default=50, ge=1, description="requests the shared bucket allows at once (Enterprise: 250)")
    rate: float = Field(default=2.0, gt=0, description="requests per second the bucket drains (Enterprise: 5)")
    max_attempts: int = Field(default=5, ge=1, description="attempts per call, counting the first")
    backoff_base: float = Field(default=1.0, ge=0, description="seconds before the first retry; doubled per retry")
    backoff_cap: float = Field(default=30.0, ge=0, description="longest wait between retries, in seconds")
    timeout: float = Field(default=60.0, gt=0, description="seconds per request")
    method_wait_max: float = Field(default=660.0, ge=0, description="longest wait for a method paused by its limit")
    company_tax_field: str = Field(default="UF_CRM_CNPJ", description="company field holding the CNPJ")
    contact_tax_field: str = Field(default="UF_CRM_CPF", description="contact field holding the CPF")
    signer_role_field: str = Field(default="UF_CRM_ESIGN_ROLE",
                                   description="contact field with the contact's signing role (signer, witness, "
                                               "copy); empty: deals are not read for several signers")

    def options(self) -> dict[str, Any]:
        """The limits as :meth:`esign.crm.bitrix24.settings.Bitrix24Settings.with_options` takes them."""
        return self.model_dump(exclude={"webhook"})


class TsaGroup(_Group):
    """The RFC 3161 authority of final seals when there is no ``esign_tsa`` Connection."""

    url: str = Field(default="", description="the TSA over HTTP; empty: the demo authority in the keys folder")
    username: str = Field(default="", description="HTTP basic login of the TSA, if it asks for one")
    password: str = Field(default="", repr=False, description="HTTP basic password of the TSA (secret)")
    password_file: str = Field(default="", description="a file holding the TSA password (container secrets)")
    ca_file: str = Field(default="", description="the TSA's root certificate when the company CA did not issue it")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value, optional=True)


class EsignSettings(BaseSettings):
    """All ``ESIGN_*`` variables. Build with :func:`load_settings`; paths with a relative default are resolved
    by :class:`esign.config.Settings` (they depend on the project and runtime folders)."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, env_nested_delimiter="_", env_nested_max_split=1,
                                      env_ignore_empty=True, case_sensitive=False, extra="ignore", frozen=True,
                                      populate_by_name=True)

    # paths
    project_dir: str = Field(default="", description="project folder (config/, templates/); default: here")
    home: str = Field(default="", description="runtime folder (documents, keys); default: var/")
    keys_dir: str = Field(default="", description="the keys folder; default: keys/ in the runtime folder")
    database_url: str = Field(default="", repr=False, description="the ledger's SQLAlchemy URL; default: SQLite in the "
                                                          "runtime folder")
    templates_dir: str = Field(default="", description="document templates; default: templates/ of the project")
    company_file: str = Field(default="", description="the issuing company; default: config/company.yaml")
    pipeline_file: str = Field(default="", description="what a run does; default: config/pipeline.yaml")
    rules_file: str = Field(default="", description="automation rules; default: rules.yaml beside the pipeline file")
    reports_dir: str = Field(default="", description="analysts' reports; default: reports/ in the runtime folder")
    pkcs12_file: str = Field(default="", description="the company's PKCS#12; default: director.p12 in the keys folder")
    ca_cert_file: str = Field(default="", description="the company CA certificate; default: company-ca.pem in the keys "
                                              "folder")
    crl_file: str = Field(default="", description="the company CA's current CRL; default: the demo CA's")
    # secrets (each also as a file named by <NAME>_FILE)
    key_passphrase: str = Field(default="", repr=False, description="passphrase of the signing keys (secret)")
    key_passphrase_file: str = Field(default="", description="a file holding the key passphrase")
    link_secret: str = Field(default="", repr=False, description="HMAC key of signing links and codes, 32+ characters "
                                                         "(secret)")
    link_secret_file: str = Field(default="", description="a file holding the link secret")
    # portal / web
    public_url: str = Field(default="http://127.0.0.1:8080", description="the portal's address (links, QR codes)")
    trusted_proxies: str = Field(default="", description="proxies whose X-Forwarded-For is believed (addresses or "
                                                 "networks, comma-separated)")
    # operations
    ops_email: str = Field(default="", description="who hears about failed tasks; empty: logged only")
    crm_pool_slots: int = Field(default=4, ge=1, description="tasks calling the CRM at once (Airflow pool esign_crm)")
    redis_url: str = Field(default="", repr=False, description="Redis of the CRM request budget; empty: a file")
    chromium: str = Field(default="", description="the Chromium or Chrome binary that prints reports; default: on PATH")
    kernel_log: str = Field(default="", description="set by the report runner for its kernel (not for people to set)")
    # groups
    smtp: SmtpGroup = Field(default_factory=SmtpGroup)
    sms: SmsGroup = Field(default_factory=SmsGroup)
    bitrix24: Bitrix24Group = Field(default_factory=Bitrix24Group)
    tsa: TsaGroup = Field(default_factory=TsaGroup)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        return _http_url(value, optional=False).rstrip("/")

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the mapping :func:`load_settings` was given (no .env file, no secrets folder)."""
        return init_settings, _MappingSource(settings_cls)


_SOURCE: ContextVar[Mapping[str, str]] = ContextVar("esign_settings_source")


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source over the mapping :func:`load_settings` was given."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        env = _SOURCE.get(os.environ)
        return {key.lower(): value for key, value in env.items()
                if key.upper().startswith(PREFIX) and not (self.env_ignore_empty and value == "")}


def load_settings(environ: Mapping[str, str] | None = None, *, lenient: bool = False) -> EsignSettings:
    """The settings of ``environ`` (default: this process's environment); every problem in one ConfigError.

    ``lenient``: the variables in error take their defaults instead (for the failure notice, which must still
    reach ops when the failure it reports is a wrong variable)."""
    source: Mapping[str, str] = os.environ if environ is None else environ
    token = _SOURCE.set(source)
    try:
        return EsignSettings()
    except ValidationError as exc:
        if not lenient:
            raise ConfigError("; ".join(_describe(error) for error in exc.errors())) from None
        wrong = {_variable(error) for error in exc.errors()}
        _SOURCE.set({key: value for key, value in source.items() if key.upper() not in wrong})
        return EsignSettings()
    finally:
        _SOURCE.reset(token)


_REASONS = {"int_parsing": "must be an integer", "float_parsing": "must be a number",
            "bool_parsing": "must be true or false"}


def _variable(error: Mapping[str, Any]) -> str:
    """The variable a validation error is about (``ESIGN_SMTP_PORT``), from pydantic's location."""
    return PREFIX + "_".join(str(part) for part in error["loc"]).upper()


def _describe(error: Mapping[str, Any]) -> str:
    """``ESIGN_SMTP_PORT: must be an integer``: pydantic's location as the variable, its message in our words."""
    name = _variable(error)
    reason = _REASONS.get(error["type"]) or str(error["msg"]).removeprefix("Value error, ")
    if error["type"] in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        reason = f"must be {str(error['msg']).removeprefix('Input should be ')}"
    return f"{name}: {reason}"


def variables() -> Iterator[tuple[str, FieldInfo]]:
    """Every variable name with its field (type, default, description), groups expanded, in declaration order."""
    for name, field in EsignSettings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, _Group):
            for sub, subfield in annotation.model_fields.items():
                yield f"{PREFIX}{name}_{subfield.alias or sub}".upper(), subfield
        else:
            yield f"{PREFIX}{name}".upper(), field
