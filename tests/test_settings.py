"""Every ``ESIGN_*`` variable is read by one settings class: all problems in one error, the documented defaults,
and the README, ``.env.example`` and docker-compose naming exactly the variables the class knows."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest

from esign import composition
from esign.config import Settings, key_passphrase, link_secret, tsa_credentials
from esign.crm.bitrix24.settings import Bitrix24Settings, WebhookUrl
from esign.dispatch.email import SmtpSettings
from esign.dispatch.sms import FileSmsGateway, gateway_for
from esign.errors import ConfigError
from esign.portal.security import trusted_proxies
from esign.settings import INTERNAL, EsignSettings, load_settings, variables

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
    assert settings.rules_file == tmp_path / "config" / "rules.yaml" and settings.variables is env
    assert trusted_proxies(env) == () and tsa_credentials(env) is None
    assert isinstance(gateway_for(env.sms, tmp_path), FileSmsGateway)


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
    typed = load_settings(env)
    smtp = SmtpSettings.from_group(typed.smtp)
    assert (smtp.host, smtp.port, smtp.starttls, smtp.username) == ("relay.example.com", 587, True, "u")
    assert SmtpSettings.from_env(env) == smtp
    b24 = Bitrix24Settings.from_group(typed.bitrix24)
    assert (b24.burst, b24.rate, b24.webhook.user_id) == (250, 5.0, "1")
    assert Bitrix24Settings.from_env(env) == b24
    assert trusted_proxies(typed) == ("10.0.0.5/32",)
    assert link_secret(typed) == b"s" * 32 and key_passphrase(typed) == b"pass"
    settings = Settings.from_settings(typed, Path("."))
    assert settings.rules_file == Path("r.yaml")
    assert settings.tsa_url == "https://tsa.example.com/" and tsa_credentials(typed) == ("t", "tp")


def test_rules_the_dataclasses_keep_still_apply() -> None:
    with pytest.raises(ConfigError, match="ESIGN_SMTP_STARTTLS and ESIGN_SMTP_SSL: choose one"):
        SmtpSettings.from_env({"ESIGN_SMTP_STARTTLS": "1", "ESIGN_SMTP_SSL": "1"})
    with pytest.raises(ConfigError, match="ESIGN_SMS_API_KEY: required"):
        gateway_for(load_settings({"ESIGN_SMS_URL": "https://sms.example.com/send"}).sms, Path("."))


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


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """This process's environment pointed at a fresh home, the composition root's caches empty before and after."""
    for name in [n for n in os.environ if n.upper().startswith("ESIGN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ESIGN_HOME", str(tmp_path))
    monkeypatch.setenv("ESIGN_PROJECT_DIR", str(ROOT))
    composition.reset()
    yield monkeypatch
    composition.reset()


def test_the_composition_root_reports_every_problem_before_building(root: pytest.MonkeyPatch) -> None:
    root.setenv("ESIGN_SMTP_TIMEOUT", "soon")
    root.setenv("ESIGN_TSA_URL", "tsa.example.com")
    with pytest.raises(ConfigError, match=r"ESIGN_SMTP_TIMEOUT: must be a number; ESIGN_TSA_URL: must start"):
        composition.services_for()


def test_the_settings_read_once_travel_down_typed(root: pytest.MonkeyPatch, tmp_path: Path) -> None:
    root.setenv("ESIGN_OPS_EMAIL", "o@x.com")
    root.setenv("ESIGN_SMTP_PORT", "2525")
    root.setenv("ESIGN_LINK_SECRET", "l" * 32)
    services = composition.services_for()
    assert services is composition.services_for(), "one Services per process, settings and overrides"
    assert services.ws is composition.workspace_for()
    assert services.settings is services.ws.settings.variables and services.settings.ops_email == "o@x.com"
    assert services.smtp.port == 2525
    assert services.requests is not None  # built with the settings' link secret (ESIGN_LINK_SECRET: 32 characters)
    root.setenv("ESIGN_SMS_URL", "https://sms.example.com/send")  # read by the root's next call, not by the senders
    with services.senders(["sms"])["sms"] as sender:  # type: ignore[attr-defined]
        assert isinstance(sender.gateway, FileSmsGateway) and sender.gateway.path.is_relative_to(tmp_path.resolve())
    changed = composition.services_for()
    assert changed.ws is not services.ws and changed.settings.sms.url == "https://sms.example.com/send"


#: Where the environment may be read: the settings module, the composition root and the edges (the Airflow edge's
#: lenient reads, the demo setting itself up, the command line, the report runner's own process).
ENV_READERS = ("settings.py", "composition.py", "cli/", "hooks/", "demo/", "reporting/")
#: Below the root, only the ``from_env`` conveniences that tests and edges call (no package code below calls them).
FROM_ENV = {"config.py", "dispatch/email.py", "crm/bitrix24/settings.py"}


def test_below_the_composition_root_nothing_reads_the_environment() -> None:
    package = ROOT / "plugins" / "esign"
    readers = {path.relative_to(package).as_posix() for path in package.rglob("*.py")
               if re.search(r"load_settings\(|os\.environ|os\.getenv", path.read_text(encoding="utf-8"))}
    assert {name for name in readers if not name.startswith(ENV_READERS)} == FROM_ENV
