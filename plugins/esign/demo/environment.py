"""The demo's environment: its workdir, demo-only secrets, the local servers' addresses, Airflow's settings."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from esign.config import DEMO_SECRET_FILES, secret_configured
from esign.settings import load_settings

#: Runtime data a demo run starts without (keys and the Airflow metadata database are kept).
RESETTABLE = ("esign.db", "esign.db-wal", "esign.db-shm", "documents", "mail", "sms", "portal-cache")


def demo_secret_file(path: Path, env_name: str) -> None:
    """A random demo-only secret in a 0600 file, unless the operator set ``env_name`` or ``env_name_FILE``."""
    if secret_configured(env_name, load_settings()):  # the environment as the demo has set it up so far
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    os.environ[f"{env_name}_FILE"] = str(path)


def reset_workdir(workdir: Path) -> None:
    for name in RESETTABLE:
        target = workdir / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def configure(workdir: Path, project_dir: Path) -> None:
    """Point every later import (esign settings, Airflow) at the demo's workdir. Call before importing Airflow."""
    airflow_home = workdir / "airflow"
    airflow_home.mkdir(parents=True, exist_ok=True)
    os.environ.update({
        "ESIGN_HOME": str(workdir),
        "ESIGN_PROJECT_DIR": str(project_dir),
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(project_dir / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        "AIRFLOW__CORE__PARALLELISM": "4",
    })
    os.environ.setdefault("ESIGN_RULES_FILE", str(project_dir / "config" / "rules.demo.yaml"))
    for name, file_name in DEMO_SECRET_FILES.items():
        demo_secret_file(workdir / "keys" / file_name, name)
