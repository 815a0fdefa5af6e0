"""docker-compose.yml's structure (no Docker engine needed): the services production needs, health checks,
volumes, secrets only through the environment, and every command, path and file it names exists here."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import PROJECT_DIR

COMPOSE = PROJECT_DIR / "docker-compose.yml"
ENV_EXAMPLE = PROJECT_DIR / ".env.example"
AIRFLOW_SERVICES = {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker"}
SECRET_WORDS = re.compile(r"PASSWORD|SECRET|PASSPHRASE|FERNET|API_KEY|TOKEN|WEBHOOK", re.IGNORECASE)
VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?:[:?\-][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else list(command)


def test_every_production_service_is_there(compose: dict[str, Any]) -> None:
    services = _services(compose)
    assert {"postgres", "redis", "mailpit", "portal"} | AIRFLOW_SERVICES <= set(services)
    worker = services["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker  # scalable with --scale
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:")
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
        assert env["ESIGN_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "mailpit" in services["mailpit"]["image"]
    assert _command(services["portal"])[:4] == ["esign", "portal", "--host", "0.0.0.0"]


def test_long_running_services_have_health_checks(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        check = service.get("healthcheck", {})
        if name == "airflow-init":
            assert check.get("disable") is True and service["restart"] == "no"
            continue
        assert check.get("test"), f"{name} has no health check"
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert _services(compose)[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


def test_runtime_data_lives_in_volumes(compose: dict[str, Any]) -> None:
    services = _services(compose)
    declared = set(compose["volumes"])
    for name in AIRFLOW_SERVICES | {"portal"}:
        env = services[name]["environment"]
        mounts = {m.split(":")[1]: m.split(":")[0] for m in services[name]["volumes"]}
        for source in mounts.values():
            assert source in declared or source.startswith("./")
        home = Path(env.get("ESIGN_HOME", "/var/lib/esign"))
        assert str(home) in mounts, f"{name}: ESIGN_HOME (var/) not on a volume"
        if name != "portal":
            assert "/var/lib/esign-reports" in mounts, f"{name}: reports/ not on a volume"
    assert {"pgdata", "esign-var", "esign-reports"} <= declared
    dockerfile = (PROJECT_DIR / "Dockerfile").read_text()
    assert "ESIGN_HOME=/var/lib/esign " in dockerfile and "ESIGN_REPORTS_DIR=/var/lib/esign-reports " in dockerfile


def _values(node: Any) -> list[tuple[str, str]]:
    """Every (key, string value) pair in the file, recursively."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str | int | float | bool):
                found.append((str(key), str(value)))
            else:
                found.extend((k or str(key), v) for k, v in _values(value))
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, str):
                found.append(("", item))
            else:
                found.extend(_values(item))
    return found


def test_no_literal_secrets_and_every_variable_is_in_env_example(compose: dict[str, Any]) -> None:
    raw = COMPOSE.read_text()
    for key, value in _values(compose):
        if SECRET_WORDS.search(key) and not key.endswith("_FILE") and value:  # a _FILE names where it is
            assert value.startswith("${") or VARIABLE.search(value), f"{key} has a literal value"
        for userinfo in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):
            assert userinfo.startswith("${"), f"a literal password in {value!r}"
    used = set(VARIABLE.findall(raw)) - {"HOSTNAME"}
    lines = [line for line in ENV_EXAMPLE.read_text().splitlines() if line and not line.startswith("#")]
    named = {line.split("=", 1)[0] for line in lines}
    assert all(line.endswith("=") for line in lines), "the example must hold names only, no values"
    assert used <= named, f"variables missing from .env.example: {sorted(used - named)}"
    assert named <= used, f".env.example names variables compose never reads: {sorted(named - used)}"


def test_named_files_and_build_inputs_exist(compose: dict[str, Any]) -> None:
    for _name, service in _services(compose).items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("./"):
                assert (PROJECT_DIR / source).exists(), source
        if "build" in service:
            context = service["build"] if isinstance(service["build"], str) else service["build"]["context"]
            assert (PROJECT_DIR / context / "Dockerfile").is_file()
        for arg in _command(service) + [str(x) for x in service.get("healthcheck", {}).get("test", [])]:
            if arg.startswith("/opt/esign/"):
                assert (PROJECT_DIR / arg.removeprefix("/opt/esign/")).exists(), arg
    for line in (PROJECT_DIR / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (PROJECT_DIR / source).exists(), f"Dockerfile copies a missing {source}"
    assert "uv sync --frozen" in (PROJECT_DIR / "Dockerfile").read_text()  # installs exactly from uv.lock


def test_esign_commands_exist(compose: dict[str, Any]) -> None:
    from esign.cli import build_parser

    parser = build_parser()
    commands = [_command(s) for s in _services(compose).values()]
    shell = [c[2] for c in commands if c[:2] == ["bash", "-c"]]
    commands += [shlex.split(part) for text in shell for part in text.split("&&")]
    esign = [c for c in commands if c and c[0] == "esign"]
    assert {tuple(c[:2]) for c in esign} >= {("esign", "portal"), ("esign", "db")}
    for command in esign:
        args = parser.parse_args(command[1:])  # SystemExit on an unknown command or option
        assert callable(args.handler)


def test_airflow_commands_exist(compose: dict[str, Any]) -> None:
    from airflow.cli.cli_parser import get_parser

    parser = get_parser()
    names = {action_name for action in parser._subparsers._group_actions  # type: ignore[union-attr]
             for action_name in action.choices}  # type: ignore[union-attr]
    checks = [s.get("healthcheck", {}).get("test", []) for s in _services(compose).values()]
    commands = [_command(s) for s in _services(compose).values()] + [c[1:] for c in checks if c[:1] == ["CMD"]]
    airflow = [c for c in commands if c and c[0] == "airflow"]
    shell = [c[2] for c in commands if c[:2] == ["bash", "-c"]]
    airflow += [shlex.split(p) for text in shell for p in text.split("&&") if p.strip().startswith("airflow")]
    assert len(airflow) >= 8
    for command in airflow:
        assert command[1] in names, command
        if command[1] in ("celery", "jobs", "db"):
            assert parser.parse_known_args(command[1:3])[0] is not None
    assert ["airflow", "celery", "worker"] in airflow


def test_airflow_gets_the_recommended_worker_settings(compose: dict[str, Any]) -> None:
    from esign.hooks.worker_settings import CELERY_SETTINGS, WORKER_SETTINGS

    env = compose["x-airflow-common"]["environment"]
    wanted = WORKER_SETTINGS | CELERY_SETTINGS
    assert {k: str(env.get(k)) for k in wanted} == wanted
