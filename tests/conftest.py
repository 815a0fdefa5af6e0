"""Fixtures shared by every area: an isolated ledger database per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from esign.store import Ledger, init_schema, make_engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    init_schema(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def ledger(engine: Engine) -> Ledger:
    return Ledger(engine)


# -- the document core, end to end ------------------------------------------------------------------
from esign.config import Settings  # noqa: E402
from esign.workspace import Workspace  # noqa: E402
from tests.support import PROJECT_DIR, TEST_PASSPHRASE  # noqa: E402


@pytest.fixture(scope="session")
def core_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of an isolated workdir with the project's templates and company file, keys made once, and the
    demo time-stamping authority served over HTTP on loopback (every final seal asks it for its timestamp)."""
    from esign.company import load_company
    from esign.signing import init_keys
    from esign.signing.tsa import TSA_P12_NAME, TimeStampAuthority, load_tsa_identity
    from esign.signing.tsa_server import TsaServer

    workdir = tmp_path_factory.mktemp("esign-home")
    settings = Settings.from_env({"ESIGN_HOME": str(workdir)}, project_dir=PROJECT_DIR)
    company = load_company(settings.company_file)
    init_keys(settings.keys_dir, TEST_PASSPHRASE, company_name=company.party.name,
              director_name=company.director_name, director_title=company.director_title)
    authority = TimeStampAuthority(load_tsa_identity(settings.keys_dir / TSA_P12_NAME, TEST_PASSPHRASE))
    with TsaServer(authority) as tsa:
        yield Settings.from_env({"ESIGN_HOME": str(workdir), "ESIGN_TSA_URL": tsa.url}, project_dir=PROJECT_DIR)


@pytest.fixture(scope="session")
def core_ws(core_settings: Settings) -> Workspace:
    return Workspace(core_settings, passphrase=TEST_PASSPHRASE)
