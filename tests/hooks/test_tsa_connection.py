"""The Airflow Connection ``esign_tsa`` names the time-stamping authority of final seals."""

from __future__ import annotations

import json

import pytest

from esign.config import Settings, tsa_credentials
from esign.errors import ConfigError
from esign.hooks.airflow_services import tsa_from_connection
from esign.settings import load_settings


@pytest.mark.parametrize(("conn", "url"), [
    ({"conn_type": "http", "extra": {"url": "https://tsa.example.com/tsr"}}, "https://tsa.example.com/tsr"),
    ({"conn_type": "http", "host": "https://freetsa.example.org/tsr"}, "https://freetsa.example.org/tsr"),
    ({"conn_type": "http", "host": "tsa.example.com", "schema": "http", "port": 3180}, "http://tsa.example.com:3180/"),
])
def test_the_connection_fills_the_tsa_settings(monkeypatch: pytest.MonkeyPatch, conn: dict[str, object],
                                               url: str) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_ESIGN_TSA", json.dumps({**conn, "login": "acme", "password": "s3cret"}))
    env: dict[str, str] = {}
    assert tsa_from_connection(environ=env) == url
    settings = Settings.from_env(env)
    assert settings.tsa_url == url
    assert tsa_credentials(settings.variables) == ("acme", "s3cret")


def test_no_connection_leaves_the_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_ESIGN_TSA", raising=False)
    env = {"ESIGN_TSA_URL": "https://tsa.example.net/"}
    assert tsa_from_connection(environ=env) is None and env == {"ESIGN_TSA_URL": "https://tsa.example.net/"}


def test_a_connection_without_a_url_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_ESIGN_TSA", json.dumps({"conn_type": "http", "login": "acme"}))
    with pytest.raises(ConfigError, match="esign_tsa: give the TSA's URL"):
        tsa_from_connection(environ={})


def test_tsa_url_must_be_http(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="ESIGN_TSA_URL: must start with http"):
        Settings.from_env({"ESIGN_TSA_URL": "ftp://tsa.example.com/"})
    with pytest.raises(ConfigError, match="ESIGN_TSA_PASSWORD"):
        tsa_credentials(load_settings({"ESIGN_TSA_USERNAME": "acme"}))
