"""Trusted proxies (``ESIGN_TRUSTED_PROXIES``): forwarded headers are believed only from the proxies named, so the
per-client limits of the portal and the register count real clients, and a client cannot pick its own address.

Real servers: the apps run under uvicorn on loopback exactly as ``esign portal`` runs them (uvicorn's own proxy
handling off), and the "proxy" is this test's HTTP client on 127.0.0.1 sending ``X-Forwarded-For``.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench.load_portal import build_portal

from esign.errors import ConfigError
from esign.portal.app import create_app
from esign.portal.security import SERVER_OPTIONS, trusted_proxies
from esign.portal.services import PortalServices
from esign.settings import load_settings
from tests.security.conftest import Staff, csrf_of, serve

CLIENTS = 75
LIMIT = 30  # code posts per client address and minute


@pytest.fixture(scope="module")
def links(tmp_path_factory: pytest.TempPathFactory) -> tuple[PortalServices, list[Any]]:
    services, links, _ = build_portal(tmp_path_factory.mktemp("proxies"), CLIENTS * 2 + LIMIT + 5)
    return services, links


def _ask_code(base: str, token: str, forwarded_for: str | None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    with httpx.Client(base_url=base, headers=headers) as http:
        page = http.get(f"/s/{token}")
        assert page.status_code == 200, page.text[:200]
        return http.post(f"/s/{token}/code", data={"csrf": csrf_of(page.text), "intent": "sign"}).status_code


def _portal(services: PortalServices, proxies: tuple[str, ...]) -> Any:
    settings = replace(services.settings, code_posts_per_minute=LIMIT, trusted_proxies=proxies)
    return create_app(replace(services, settings=settings))


def test_clients_behind_a_trusted_proxy_each_get_their_own_budget(links: tuple[PortalServices, list[Any]]) -> None:
    services, tokens = links
    with serve(_portal(services, ("127.0.0.1",))) as base:
        statuses = [_ask_code(base, link.token, f"203.0.113.{n}") for n, link in enumerate(tokens[:CLIENTS])]
        assert statuses == [200] * CLIENTS  # 75 clients through one proxy: none refused
        same = [_ask_code(base, link.token, "198.51.100.9") for link in tokens[CLIENTS:CLIENTS + LIMIT + 1]]
        assert same[:LIMIT] == [200] * LIMIT and same[LIMIT] == 429  # one real client is still limited
        # a client prepending its own entries cannot escape: the proxy's last entry is the one believed
        spoofed = [_ask_code(base, link.token, f"10.9.9.{n}, 198.51.100.9")
                   for n, link in enumerate(tokens[CLIENTS + LIMIT + 1:CLIENTS + LIMIT + 3])]
        assert spoofed == [429, 429]


def test_forwarded_headers_from_anyone_else_are_ignored(links: tuple[PortalServices, list[Any]]) -> None:
    services, tokens = links
    with serve(_portal(services, ())) as base:  # no trusted proxy: the loopback client is the client
        start = CLIENTS + LIMIT + 3
        rotating = [_ask_code(base, link.token, f"192.0.2.{n}")
                    for n, link in enumerate(tokens[start:start + LIMIT + 1])]
        assert rotating[:LIMIT] == [200] * LIMIT and rotating[LIMIT] == 429


def test_register_logins_are_limited_per_real_client(staff: Staff) -> None:
    from esign.register.app import create_register_app

    app = create_register_app(staff.pipe.services, logins_per_minute=3, proxies=("127.0.0.0/8",))
    with serve(app) as base:
        def attempt(client_ip: str) -> int:
            with httpx.Client(base_url=base, headers={"X-Forwarded-For": client_ip}) as http:
                page = http.get("/staff/login")
                return http.post("/staff/login", data={"login": "ninguem", "password": "errada-123",
                                                       "csrf": csrf_of(page.text)}).status_code

        assert [attempt("203.0.113.50") for _ in range(4)] == [401, 401, 401, 429]
        assert attempt("203.0.113.51") == 401  # another client behind the same proxy is not blocked


def test_the_setting_is_checked_and_the_servers_leave_forwarding_to_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    assert trusted_proxies(load_settings({})) == ()
    assert trusted_proxies(load_settings({"ESIGN_TRUSTED_PROXIES": " 10.0.0.5 , 172.18.0.0/16,::1"})) == (
        "10.0.0.5/32", "172.18.0.0/16", "::1/128")
    for bad in ("*", "proxy.internal", "10.0.0.300"):
        with pytest.raises(ConfigError, match=f"ESIGN_TRUSTED_PROXIES: '{bad}'"):
            trusted_proxies(load_settings({"ESIGN_TRUSTED_PROXIES": bad}))
    assert SERVER_OPTIONS["proxy_headers"] is False  # uvicorn would otherwise trust any loopback client
    seen: dict[str, Any] = {}
    import uvicorn

    from esign.cli import ops_commands

    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    monkeypatch.setattr("esign.composition.services_for", lambda: None)
    monkeypatch.setattr("esign.web.web_app", lambda services: "app")
    ops_commands.serve_portal(argparse.Namespace(host="127.0.0.1", port=8080))
    assert seen["proxy_headers"] is False


def test_docker_compose_passes_the_setting_to_the_portal() -> None:
    import yaml

    root = Path(__file__).resolve().parents[2]
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    assert "ESIGN_TRUSTED_PROXIES" in compose["services"]["portal"]["environment"]
    assert "ESIGN_TRUSTED_PROXIES=" in (root / ".env.example").read_text()
    assert "ESIGN_TRUSTED_PROXIES" in (root / "README.md").read_text()
