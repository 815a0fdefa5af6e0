"""The ``bitrix24`` connection type: Bitrix24Hook reads a Connection into Bitrix24Settings; the package publishes
the type with its form fields as an Airflow provider; only a missing Connection means "use the environment"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowNotFoundException

from esign.errors import ConfigError
from esign.hooks.airflow_services import bitrix24_from_connection
from esign.hooks.bitrix24 import Bitrix24Hook
from esign.hooks.provider_info import HOOK_CLASS, get_provider_info
from tests.support import PROJECT_DIR

WEBHOOK = "https://acme.bitrix24.com.br/rest/7/abc123secret/"


def _connection(monkeypatch: pytest.MonkeyPatch, conn_id: str = "bitrix24_default", **fields: object) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "bitrix24", **fields}))


def test_the_webhook_url_extra_and_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    _connection(monkeypatch, extra={"webhook_url": WEBHOOK, "burst": "250", "rate": 5, "company_tax_field": "UF_X",
                                    "timeout": None, "max_attempts": ""})  # empty form fields keep the defaults
    settings = Bitrix24Hook().get_conn()
    assert settings.webhook.base == WEBHOOK and (settings.burst, settings.rate) == (250, 5.0)
    assert settings.company_tax_field == "UF_X" and (settings.timeout, settings.max_attempts) == (60.0, 5)
    assert "abc123secret" not in repr(settings)


def test_the_webhook_in_parts_on_a_named_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    _connection(monkeypatch, "crm_test", host="acme.bitrix24.com.br", login="7", password="abc123secret",
                schema="http")
    assert Bitrix24Hook("crm_test").get_conn().webhook.base == "http://acme.bitrix24.com.br/rest/7/abc123secret/"


def test_a_connection_without_the_webhook_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _connection(monkeypatch, host="acme.bitrix24.com.br")
    with pytest.raises(ConfigError, match="set extra webhook_url"):
        bitrix24_from_connection()
    _connection(monkeypatch, extra={"webhook_url": WEBHOOK, "rate": "fast"})
    with pytest.raises(ConfigError, match="RATE: not a number"):
        bitrix24_from_connection()


def test_no_connection_means_the_environment_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_BITRIX24_DEFAULT", raising=False)
    assert bitrix24_from_connection() is None
    with pytest.raises(AirflowNotFoundException):
        Bitrix24Hook().get_conn()


def test_the_services_factory_uses_the_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    _connection(monkeypatch, password=WEBHOOK)
    settings = bitrix24_from_connection()
    assert settings is not None and settings.webhook.base == WEBHOOK


def test_the_package_publishes_the_connection_type_as_a_provider() -> None:
    """What Airflow's ProvidersManager reads: schema-valid provider information naming the hook, its fields."""
    from importlib.metadata import entry_points

    import airflow
    import jsonschema

    info = get_provider_info()
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(info, schema)
    [entry] = [e for e in entry_points(group="apache_airflow_provider") if e.value.startswith("esign.")]
    assert entry.load() is get_provider_info and info["package-name"] == "esign-pipeline"
    [conn_type] = info["connection-types"]
    module, _, name = HOOK_CLASS.rpartition(".")
    hook = getattr(__import__(module, fromlist=[name]), name)
    assert hook is Bitrix24Hook and conn_type["hook-class-name"] == HOOK_CLASS
    assert (conn_type["connection-type"], conn_type["hook-name"]) == (hook.conn_type, hook.hook_name)
    assert (hook.conn_name_attr, hook.default_conn_name) == ("bitrix24_conn_id", "bitrix24_default")
    assert conn_type["conn-fields"]["webhook_url"]["schema"]["format"] == "password"  # shown masked, kept secret
    behaviour = hook.get_ui_field_behaviour()
    assert behaviour["hidden_fields"] == conn_type["ui-field-behaviour"]["hidden-fields"]
    assert behaviour["relabeling"]["password"] == "Webhook code"


PROBE = """
from esign.hooks import airflow_services as a
for name, call in (("smtp", a.smtp_from_connection), ("bitrix24", a.bitrix24_from_connection),
                   ("tsa", lambda: a.tsa_from_connection(environ={}))):
    try:
        call()
    except PermissionError as exc:
        print(name, "refused:", exc)
    else:
        print(name, "fell back")
"""


@pytest.mark.airflow
def test_a_secrets_backend_refusing_access_is_not_taken_for_a_missing_connection(tmp_path: Path) -> None:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__SECRETS__BACKEND": "tests.hooks.denying_backend.DenyingBackend"}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=PROJECT_DIR, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert out.splitlines() == [f"{name} refused: access to {conn} denied by policy" for name, conn in
                                (("smtp", "smtp_default"), ("bitrix24", "bitrix24_default"), ("tsa", "esign_tsa"))]


DISCOVER = """
import json
from airflow.providers_manager import ProvidersManager
pm = ProvidersManager()
hook = pm.hooks["bitrix24"]
print("JSON" + json.dumps({"hook": [hook.hook_class_name, hook.connection_type, hook.hook_name],
                           "fields": sorted(k for k in pm.connection_form_widgets if "bitrix24" in k),
                           "behaviour": pm.field_behaviours.get("bitrix24"),
                           "notifiers": [n for n in pm.notification if n.startswith("esign.")]}))
"""


@pytest.mark.airflow
def test_airflow_offers_the_bitrix24_connection_type(tmp_path: Path) -> None:
    """What the UI's connection form is built from: Airflow's own ProvidersManager, in a fresh process."""
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    out = subprocess.run([sys.executable, "-c", DISCOVER], env=env, cwd=PROJECT_DIR, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    found = json.loads(out.split("JSON", 1)[1])
    assert found["hook"] == [HOOK_CLASS, "bitrix24", "Bitrix24"]
    assert found["fields"] == sorted(f"extra__bitrix24__{name}" for name in
                                     ("webhook_url", "burst", "rate", "max_attempts", "timeout",
                                      "company_tax_field", "contact_tax_field"))
    assert found["behaviour"]["relabeling"]["login"] == "Webhook user ID"
    assert found["notifiers"] == ["esign.hooks.notifier.FailureNotifier"]


def test_the_report_asks_the_pipelines_crm_through_the_connection(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    """esign_report's signing task asks the CRM the pipeline is set to (Variable), configured by the Connection."""
    from esign.crm.bitrix24 import Bitrix24Crm
    from esign.hooks.airflow_services import crm_from_context

    for name in ("ESIGN_DATABASE_URL", "ESIGN_PIPELINE_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ESIGN_HOME", str(tmp_path))
    monkeypatch.setenv("ESIGN_PROJECT_DIR", str(PROJECT_DIR))
    monkeypatch.setenv("AIRFLOW_VAR_ESIGN_PIPELINE", json.dumps({"crm": "bitrix24"}))
    _connection(monkeypatch, password=WEBHOOK)
    crm = crm_from_context()
    try:
        assert isinstance(crm, Bitrix24Crm) and crm.settings.webhook.base == WEBHOOK
    finally:
        crm.close()
