"""Revision 0007 finishes, once, the client's answers an older release split in two (request closed, document not
moved) on SQLite and PostgreSQL; answers already whole and open requests are left alone."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text

from esign.model import Stage
from esign.requests import RequestStatus, SigningRequests
from esign.requests.schema import signing_requests
from esign.store import EventInfo, Ledger, make_engine
from esign.store.migrations import alembic_config, current_revision, head_revision, upgrade
from tests.prod.postgres import throwaway_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def before_repair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database migrated to revision 0006, the last before the repair."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
        engine = make_engine(url)
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0006")
        _add_later_columns(engine)
        yield engine
        engine.dispose()
        return
    with throwaway_database("esign_migr5") as url:
        engine = make_engine(url)
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0006")
        _add_later_columns(engine)
        yield engine
        engine.dispose()


#: Columns later revisions add, which today's ledger writes: the fixture adds them so that today's code can seed
#: the old database, and the test drops them again before upgrading, so the upgrade runs on the real old schema.
_LATER_COLUMNS = (("documents", "signers_json", "TEXT NOT NULL DEFAULT '[]'"),
                  ("signing_requests", "signer", "INTEGER NOT NULL DEFAULT 1"))


def _add_later_columns(engine: Engine) -> None:
    with engine.begin() as conn:
        for table, column, kind in _LATER_COLUMNS:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {kind}"))


def _drop_later_columns(engine: Engine) -> None:
    with engine.begin() as conn:
        for table, column, _kind in _LATER_COLUMNS:
            conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))


def _sent(ledger: Ledger, service: SigningRequests) -> tuple[str, str]:
    doc, _ = ledger.create_document(deal_id=secrets.token_hex(4), template_id="contrato", title="Contrato")
    ledger.move(doc.id, Stage.COMPANY_SIGNED, "company_signed", EventInfo(actor="Diretora"))
    ledger.move(doc.id, Stage.SENT, "sent", EventInfo(actor="pipeline", channel="sms"))
    request = service.create(doc.id, "sms", "+55 11 98765-4321", datetime.now(UTC) + timedelta(days=14))
    return doc.id, request.id


def _close_only(engine: Engine, request_id: str, status: RequestStatus) -> None:
    """What the old release left when it died between its two transactions: the request closed, nothing else."""
    with engine.begin() as conn:
        conn.execute(signing_requests.update().where(signing_requests.c.id == request_id)
                     .values(status=status.value, closed_at=datetime.now(UTC), sign_ip="203.0.113.7",
                             sign_user_agent="Mozilla/5.0"))


def test_split_answers_are_finished_once_and_nothing_else_moves(before_repair: Engine) -> None:
    ledger = Ledger(before_repair)
    service = SigningRequests(before_repair, ledger, secrets.token_bytes(32))
    signed, signed_request = _sent(ledger, service)
    declined, declined_request = _sent(ledger, service)
    viewed, viewed_request = _sent(ledger, service)
    ledger.move(viewed, Stage.VIEWED, "viewed", EventInfo(actor="client", channel="sms"))
    still_open, _ = _sent(ledger, service)
    _close_only(before_repair, signed_request, RequestStatus.SIGNED)
    _close_only(before_repair, declined_request, RequestStatus.DECLINED)
    _close_only(before_repair, viewed_request, RequestStatus.SIGNED)

    _drop_later_columns(before_repair)
    upgrade(before_repair)
    upgrade(before_repair)  # at head: a no-op

    with before_repair.connect() as conn:
        assert current_revision(conn) == head_revision()
    assert ledger.get(signed).stage is Stage.CLIENT_SIGNED
    assert ledger.get(declined).stage is Stage.DECLINED
    assert ledger.get(viewed).stage is Stage.CLIENT_SIGNED
    assert ledger.get(still_open).stage is Stage.SENT
    for doc, action in ((signed, "client_signed"), (declined, "declined"), (viewed, "client_signed")):
        [event] = [e for e in ledger.events(doc) if e.action == action]
        assert event.stage is Stage(action) and event.actor == "client" and event.detail == "reconciliado"
        assert event.ip == "203.0.113.7" and event.channel == "sms"
        assert ledger.derived_stage(doc) is Stage(action)
