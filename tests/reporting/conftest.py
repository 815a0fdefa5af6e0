"""A small ledger with known numbers, on SQLite (per test) and PostgreSQL (a throwaway database per module).

Period: the days 2026-03-01 .. 2026-03-07 of the company's zone (America/Sao_Paulo, UTC-03:00).
Run ``manual__r1`` created six documents: D1, D2 (template A, manager Ana, email) signed after 2 h and 10 h;
D3 (template B, Bruno, SMS) signed 4 days after sending, one day after a reminder; D4 (B, Bruno, email)
declined; D5 (A, Ana, SMS) still open; D6 (A, Bruno) quarantined. D7 was created and completed in February:
outside the period everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from esign.crm.local_schema import crm_departments, crm_managers
from esign.dispatch.outbox_schema import outbox
from esign.model import Stage
from esign.pipeline.schema import batches
from esign.reporting import RunReport, SigningReport, build_run_report, build_signing_report
from esign.requests.schema import signing_requests
from esign.store import EventInfo, Ledger, init_schema, make_engine
from tests.prod.postgres import throwaway_database

ZONE = "America/Sao_Paulo"
SINCE = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)  # local midnights: the reports' days are the company's
UNTIL = datetime(2026, 3, 8, 3, 0, tzinfo=UTC)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RUN_ID = "manual__r1"
BATCH_ID = f"{RUN_ID}#00000"

MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


class Clock:
    """The ledger's clock, moved by hand so every event has a known time."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def populate(engine: Engine, *, with_crm: bool = True) -> None:
    """Write the documented scenario through the Ledger and plain inserts into the other tables."""
    clock = Clock(T0)
    ledger = Ledger(engine, clock=clock)
    with engine.begin() as conn:
        if with_crm:
            conn.execute(insert(crm_departments), [{"id": 1, "name": "Vendas SP"}, {"id": 2, "name": "Vendas RJ"}])
            conn.execute(insert(crm_managers), [{"id": 1, "name": "Ana Souza", "department_id": 1},
                                                {"id": 2, "name": "Bruno Lima", "department_id": 2}])
        conn.execute(insert(batches).values(
            id=BATCH_ID, run_id=RUN_ID, crm="local", template_id="tpl_a", stage_id="C1:PREPARATION", first_id=101,
            last_id=106, planned=6, approved_by="auto-approve (configuration)",
            approved_at=T0 + 30 * timedelta(seconds=1),
            counts_json=json.dumps({"prepare": {"prepared": 5, "quarantined": 1}, "sign": {"signed": 5},
                                    "dispatch": {"sent": 5}, "crm": {"moved": 5}}),
            created_at=T0 - MINUTE, updated_at=T0 + 3 * MINUTE))

    def at(moment: datetime) -> None:
        clock.at = moment

    docs: dict[str, str] = {}
    specs = [("D1", "tpl_a", "1"), ("D2", "tpl_a", "1"), ("D3", "tpl_b", "2"), ("D4", "tpl_b", "2"),
             ("D5", "tpl_a", "1")]
    for n, (name, template, manager) in enumerate(specs):
        at(T0 + n * timedelta(seconds=2))
        record, _ = ledger.create_document(deal_id=str(101 + n), template_id=template, title=name,
                                           batch_id=BATCH_ID, manager_id=manager, document_id=f"DOC-{name}")
        docs[name] = record.id
    at(T0 + 10 * timedelta(seconds=1))
    ledger.create_document(deal_id="106", template_id="tpl_a", title="D6", batch_id=BATCH_ID, manager_id="2",
                           document_id="DOC-D6", stage=Stage.QUARANTINED, reason="counterparty.name: missing")
    for n, name in enumerate(docs):
        at(T0 + MINUTE + n * timedelta(seconds=2))
        ledger.move(docs[name], Stage.COMPANY_SIGNED, "company_signed")
    sent_at = T0 + 2 * MINUTE
    channels = {"D1": "email", "D2": "email", "D3": "sms", "D4": "email", "D5": "sms"}
    for name in docs:
        at(sent_at)
        ledger.move(docs[name], Stage.SENT, "sent", EventInfo(channel=channels[name]))
    at(sent_at + HOUR)
    ledger.move("DOC-D1", Stage.VIEWED, "viewed", EventInfo(channel="email"))
    outcomes = {"D1": ("signed", sent_at + 2 * HOUR), "D2": ("signed", sent_at + 10 * HOUR),
                "D3": ("signed", sent_at + 4 * DAY), "D4": ("declined", sent_at + DAY), "D5": ("open", None)}
    for name, (status, closed) in outcomes.items():
        if closed is None:
            continue
        at(closed)
        if status == "signed":
            ledger.move(docs[name], Stage.CLIENT_SIGNED, "client_signed", EventInfo(channel=channels[name]))
            at(closed + MINUTE)
            ledger.move(docs[name], Stage.COMPLETED, "completed")
        else:
            ledger.move(docs[name], Stage.DECLINED, "declined", EventInfo(channel=channels[name]))
    with engine.begin() as conn:
        conn.execute(insert(signing_requests), [{
            "id": f"REQ-{name}", "document_id": docs[name], "attempt": 1, "token_sha256": f"{n:064d}",
            "channel": channels[name], "destination": "x", "masked_destination": "x", "status": status,
            "created_at": sent_at, "expires_at": sent_at + 14 * DAY, "closed_at": closed,
            "signed_at": closed if status == "signed" else None,
            "decline_reason": "Preço acima do combinado" if status == "declined" else None,
        } for n, (name, (status, closed)) in enumerate(outcomes.items())])
        conn.execute(insert(outbox), [{
            "dedupe_key": f"{kind}:{name}", "document_id": docs[name], "request_id": f"REQ-{name}", "kind": kind,
            "channel": channels[name], "destination": "x", "message_id": f"<{kind}.{name}@test>", "payload": b"x",
            "state": "sent", "attempts": 1, "created_at": when, "updated_at": when, "sent_at": when,
        } for name, kind, when in [*((n, "invite", sent_at) for n in docs), ("D3", "reminder", sent_at + 3 * DAY)]])
    # D7: February, entirely outside the period
    at(datetime(2026, 2, 10, 12, 0, tzinfo=UTC))
    ledger.create_document(deal_id="7", template_id="tpl_a", title="D7", manager_id="1", document_id="DOC-D7")
    for stage in (Stage.COMPANY_SIGNED, Stage.SENT, Stage.CLIENT_SIGNED, Stage.COMPLETED):
        at(clock.at + HOUR)
        ledger.move("DOC-D7", stage, stage.value)


@pytest.fixture
def report_url(tmp_path: Path) -> str:
    """A SQLite ledger file holding the scenario."""
    url = f"sqlite:///{tmp_path / 'report.db'}"
    engine = make_engine(url)
    init_schema(engine)
    populate(engine)
    engine.dispose()
    return url


@pytest.fixture
def report_engine(report_url: str) -> Iterator[Engine]:
    engine = make_engine(report_url)
    yield engine
    engine.dispose()


@pytest.fixture
def empty_url(tmp_path: Path) -> str:
    """A fresh install: every table, no rows."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = make_engine(url)
    init_schema(engine)
    engine.dispose()
    return url


@pytest.fixture
def empty_reports(empty_url: str) -> tuple[SigningReport, RunReport]:
    """The signing report of the period and the run report of ``RUN_ID`` on a fresh install."""
    engine = make_engine(empty_url)
    try:
        return build_signing_report(engine, SINCE, UNTIL), build_run_report(engine, RUN_ID)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def pg_report_engine() -> Iterator[Engine]:
    """The scenario on PostgreSQL in a throwaway database, dropped afterwards (skipped without a server)."""
    with throwaway_database("esign_report") as url:
        engine = make_engine(url)
        try:
            init_schema(engine)
            populate(engine)
            yield engine
        finally:
            engine.dispose()
