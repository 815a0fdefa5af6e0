"""Every ``ESIGN_*`` variable is read by one settings class: all problems in one error, the documented defaults,
and the README, ``.env.example`` and docker-compose naming exactly the variables the class knows."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from esign.config import Settings, key_passphrase, link_secret, tsa_credentials
from esign.crm.bitrix24.settings import Bitrix24Settings, WebhookUrl
from esign.dispatch.email import SmtpSettings
from esign.dispatch.sms import FileSmsGateway, gateway_from_env
from esign.errors import ConfigError
from esign.pipeline.config import PipelineConfig
from esign.pipeline.services import Services
from esign.portal.security import trusted_proxies
from esign.rules.config import rules_path
from esign.settings import INTERNAL, EsignSettings, load_settings, variables
from esign.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
#: Read by docker-compose only (it builds ESIGN_DATABASE_URL from it); the pipeline never sees it.
COMPOSE_ONLY = {"ESIGN_DB_PASSWORD"}
WEBHOOK = "https://acme.bitrix24.com.br/rest/1/abc123/"


def _named(text: str) -> set[str]:
    """Variable names in ``text``; ``ESIGN_X_FILE`` counts as ``ESIGN_X``'s file, ``ESIGN_SMTP_*`` is no name."""
    found = set(re.findall(r"\bESIGN_[A-Z0-9_]*[A-Z0-9]\b", text))
    found |= {f"{name}_FILE" for name in re.findall(r"\b(ESIGN_[A-Z0-9_]*[A-Z0-9])\[_FILE\]", text)}
    found |= {f"ESIGN_SMTP_{part}" for part in re.findall(r"ESIGN_SMTP_HOST/([A-Z/]+)", text)[0].split("/")} \
        if "ESIGN_SMTP_HOST/" in text else set()
    return found


KNOWN = {name for name, _ in variables()}


def test_two_bad_variables_are_named_in_one_error() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"ESIGN_SMTP_PORT": "twenty-five", "ESIGN_CRM_POOL_SLOTS": "0",
                       "ESIGN_PUBLIC_URL": "portal.example.com", "ESIGN_SMTP_STARTTLS": "perhaps"})
    message = str(caught.value)
    assert "ESIGN_SMTP_PORT: must be an integer" in message
    assert "ESIGN_CRM_POOL_SLOTS: must be greater than or equal to 1" in message
    assert "ESIGN_PUBLIC_URL: must start with http:// or https://" in message
    assert "ESIGN_SMTP_STARTTLS: must be true or false" in message


def test_lenient_settings_keep_the_good_variables_and_default_the_wrong_ones() -> None:
    """What the failure notice reads: a wrong variable (maybe the failure it reports) must not silence it."""
    env = {"ESIGN_TSA_URL": "ftp://tsa.example.com/", "ESIGN_SMTP_PORT": "x", "ESIGN_OPS_EMAIL": "ops@aurora.example",
           "ESIGN_SMTP_HOST": "relay.aurora.example"}
    with pytest.raises(ConfigError):
        load_settings(env)
    lenient = load_settings(env, lenient=True)
    assert lenient.ops_email == "ops@aurora.example" and lenient.smtp.host == "relay.aurora.example"
    assert lenient.smtp.port == load_settings({}).smtp.port and lenient.tsa.url == load_settings({}).tsa.url


def test_every_consumer_reports_the_whole_list() -> None:
    env = {"ESIGN_SMS_URL": "sms.example.com", "ESIGN_BITRIX24_RATE": "fast"}
    with pytest.raises(ConfigError, match=r"ESIGN_SMS_URL: must start.*ESIGN_BITRIX24_RATE: must be a number"):
        SmtpSettings.from_env(env)


def test_secrets_never_appear_in_the_error_or_the_repr() -> None:
    env = {"ESIGN_SMTP_PASSWORD": "hunter2-secret", "ESIGN_SMTP_PORT": "x", "ESIGN_LINK_SECRET": "L" * 40}
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert "hunter2" not in str(caught.value)
    settings = load_settings({k: v for k, v in env.items() if k != "ESIGN_SMTP_PORT"})
    assert "hunter2" not in repr(settings) and "LLLL" not in repr(settings)


def test_defaults(tmp_path: Path) -> None:
    env = load_settings({"ESIGN_PROJECT_DIR": str(tmp_path)})
    assert env.public_url == "http://127.0.0.1:8080" and env.crm_pool_slots == 4
    assert SmtpSettings.from_group(env.smtp) == SmtpSettings()
    settings = Settings.from_settings(env)
    assert settings.workdir == (tmp_path / "var").resolve()
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'var' / 'esign.db'}"
    assert settings.pipeline_file == tmp_path / "config" / "pipeline.yaml"
    assert settings.pkcs12_path == settings.keys_dir / "director.p12" and settings.tsa_url == ""
    assert rules_path(settings.pipeline_file, {}) == tmp_path / "config" / "rules.yaml"
    assert trusted_proxies({}) == () and tsa_credentials({}) is None
    assert isinstance(gateway_from_env({}, tmp_path), FileSmsGateway)


def test_group_defaults_equal_the_dataclass_defaults() -> None:
    """The Connection path builds the same dataclasses; an unset variable must mean the same default there."""
    group = load_settings({}).bitrix24.options()
    plain = Bitrix24Settings(WebhookUrl.parse(WEBHOOK))
    assert {f.name: getattr(plain, f.name) for f in fields(plain) if f.name != "webhook"} == group


def test_an_empty_variable_counts_as_unset() -> None:
    env = load_settings({"ESIGN_SMTP_PORT": "", "ESIGN_PUBLIC_URL": "", "ESIGN_CRM_POOL_SLOTS": ""})
    assert (env.smtp.port, env.public_url, env.crm_pool_slots) == (8025, "http://127.0.0.1:8080", 4)


def test_values_reach_the_consumers(tmp_path: Path) -> None:
    secret = tmp_path / "link"
    secret.write_text("s" * 32 + "\n")
    env = {"ESIGN_SMTP_HOST": "relay.example.com", "ESIGN_SMTP_PORT": "587", "ESIGN_SMTP_STARTTLS": "yes",
           "ESIGN_SMTP_USER": "u", "ESIGN_SMTP_PASSWORD": "p", "ESIGN_BITRIX24_WEBHOOK": WEBHOOK,
           "ESIGN_BITRIX24_BURST": "250", "ESIGN_BITRIX24_RATE": "5", "ESIGN_TRUSTED_PROXIES": "10.0.0.5",
           "ESIGN_LINK_SECRET_FILE": str(secret), "ESIGN_KEY_PASSPHRASE": "pass", "ESIGN_RULES_FILE": "r.yaml",
           "ESIGN_TSA_URL": "https://tsa.example.com/", "ESIGN_TSA_USERNAME": "t", "ESIGN_TSA_PASSWORD": "tp"}
    smtp = SmtpSettings.from_env(env)
    assert (smtp.host, smtp.port, smtp.starttls, smtp.username) == ("relay.example.com", 587, True, "u")
    b24 = Bitrix24Settings.from_env(env)
    assert (b24.burst, b24.rate, b24.webhook.user_id) == (250, 5.0, "1")
    assert trusted_proxies(env) == ("10.0.0.5/32",)
    assert link_secret(env) == b"s" * 32 and key_passphrase(env) == b"pass"
    assert rules_path(Path("config/pipeline.yaml"), env) == Path("r.yaml")
    assert Settings.from_env(env).tsa_url == "https://tsa.example.com/" and tsa_credentials(env) == ("t", "tp")


def test_rules_the_dataclasses_keep_still_apply() -> None:
    with pytest.raises(ConfigError, match="ESIGN_SMTP_STARTTLS and ESIGN_SMTP_SSL: choose one"):
        SmtpSettings.from_env({"ESIGN_SMTP_STARTTLS": "1", "ESIGN_SMTP_SSL": "1"})
    with pytest.raises(ConfigError, match="ESIGN_SMS_API_KEY: required"):
        gateway_from_env({"ESIGN_SMS_URL": "https://sms.example.com/send"}, Path("."))


def test_every_variable_has_a_description() -> None:
    assert all(field.description for _, field in variables())
    assert {name for name in KNOWN if name.startswith("ESIGN_SMTP_")} == {
        f"ESIGN_SMTP_{p}" for p in ("HOST", "PORT", "USER", "PASSWORD", "STARTTLS", "SSL", "TIMEOUT", "FROM")}
    assert EsignSettings.model_fields["smtp"].default_factory is not None


def test_the_readme_names_every_variable_and_no_other() -> None:
    named = _named((ROOT / "README.md").read_text(encoding="utf-8"))
    assert named - COMPOSE_ONLY - KNOWN == set(), "README names variables the settings do not read"
    undocumented = KNOWN - INTERNAL - named
    assert undocumented == set(), "variables the README does not mention"


@pytest.mark.parametrize("name", [".env.example", "docker-compose.yml"])
def test_deployment_files_name_only_known_variables(name: str) -> None:
    named = _named((ROOT / name).read_text(encoding="utf-8"))
    assert named - COMPOSE_ONLY - KNOWN == set()


def test_the_composition_root_reports_every_problem_before_building(core_ws: Workspace) -> None:
    ws = core_ws
    with pytest.raises(ConfigError, match=r"ESIGN_SMTP_TIMEOUT: must be a number; ESIGN_TSA_URL: must start"):
        Services(ws=ws, config=PipelineConfig(), smtp=SmtpSettings(),
                 environ={"ESIGN_SMTP_TIMEOUT": "soon", "ESIGN_TSA_URL": "tsa.example.com"})
    services = Services(ws=ws, config=PipelineConfig(), smtp=SmtpSettings(), environ={"ESIGN_OPS_EMAIL": "o@x.com"})
    assert services.settings.ops_email == "o@x.com"
