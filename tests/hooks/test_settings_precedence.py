"""Airflow Connections take precedence over the ``ESIGN_*`` settings; without one, the settings apply."""

from __future__ import annotations

import json

import pytest

from esign.crm.bitrix24.settings import Bitrix24Settings
from esign.hooks.airflow_services import bitrix24_from_connection, smtp_from_connection

ENV = {"ESIGN_SMTP_HOST": "relay.from-env.example", "ESIGN_SMTP_PORT": "2525",
       "ESIGN_BITRIX24_WEBHOOK": "https://env.bitrix24.com.br/rest/7/envcode/", "ESIGN_BITRIX24_BURST": "9"}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


def test_the_smtp_connection_wins_over_the_variables(env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(
        {"conn_type": "smtp", "host": "relay.from-conn.example", "port": 465, "extra": {"disable_tls": True}}))
    smtp = smtp_from_connection()
    assert (smtp.host, smtp.port, smtp.ssl) == ("relay.from-conn.example", 465, True)


def test_without_the_smtp_connection_the_variables_apply(env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    smtp = smtp_from_connection()
    assert (smtp.host, smtp.port) == ("relay.from-env.example", 2525)


def test_the_bitrix24_connection_wins_over_the_variables(env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_BITRIX24_DEFAULT", json.dumps(
        {"conn_type": "bitrix24", "extra": {"webhook_url": "https://conn.bitrix24.com.br/rest/3/conncode/"}}))
    settings = bitrix24_from_connection()
    assert settings is not None and settings.webhook.host == "conn.bitrix24.com.br" and settings.burst == 50


def test_without_the_bitrix24_connection_the_variables_apply(env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_BITRIX24_DEFAULT", raising=False)
    assert bitrix24_from_connection() is None
    settings = Bitrix24Settings.from_env(ENV)
    assert (settings.webhook.host, settings.burst) == ("env.bitrix24.com.br", 9)
