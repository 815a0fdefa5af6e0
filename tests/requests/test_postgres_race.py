"""Racing answers on PostgreSQL (production): the request's conditional UPDATE holds its row until the document's
move commits, so the loser waits, finds no open request and never moves the document.

The interleaving is forced, not hoped for: the winner stops inside its transaction (request closed, document not
moved yet) until the loser is seen waiting on the row lock in ``pg_stat_activity``.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from esign.model import Stage
from esign.requests import AlreadySignedError, RequestError, RequestStatus, SigningRequest, SigningRequests
from esign.store import EventInfo, Ledger, init_schema, make_engine
from tests.prod.postgres import throwaway_database
from tests.support import CodeRecorder

pytestmark = pytest.mark.postgres

IP, UA = "203.0.113.7", "Mozilla/5.0"
WAIT = 30.0  # seconds before a stuck test fails instead of hanging


@pytest.fixture(scope="module")
def pg_engine() -> Iterator[Engine]:
    with throwaway_database("esign_req_race") as url:
        engine = make_engine(url)
        init_schema(engine)  # the migrations, as in production
        yield engine
        engine.dispose()


def _verified_request(ledger: Ledger, service: SigningRequests) -> SigningRequest:
    doc, _ = ledger.create_document(deal_id=secrets.token_hex(4), template_id="contrato", title="Contrato")
    ledger.move(doc.id, Stage.COMPANY_SIGNED, "company_signed", EventInfo(actor="Diretora"))
    ledger.move(doc.id, Stage.SENT, "sent", EventInfo(actor="pipeline", channel="sms"))
    request = service.create(doc.id, "sms", "+55 11 98765-4321", datetime.now(UTC) + timedelta(days=14))
    recorder = CodeRecorder()
    service.issue_code(request, recorder, IP, UA)
    service.check_code(request, recorder.last_code, IP, UA)
    return request


def _waiting_on_a_lock(engine: Engine) -> bool:
    query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND wait_event_type = 'Lock'")
    with engine.connect() as conn:
        return bool(conn.execute(query).scalar())


def _race(engine: Engine, service: SigningRequests, first: Callable[[], None],
          second: Callable[[], None]) -> dict[str, str]:
    """Run ``first`` until it has closed the request, then ``second`` until it waits on the row; release both."""
    real_move = service.ledger.move
    inside, release = threading.Event(), threading.Event()
    outcomes: dict[str, str] = {}

    def held_move(*args: Any, **kwargs: Any) -> bool:
        if not inside.is_set():  # the winner, inside its transaction: request closed, document not moved yet
            inside.set()
            assert release.wait(WAIT), "the loser was never seen waiting"
        return real_move(*args, **kwargs)

    def run(name: str, answer: Callable[[], None]) -> None:
        try:
            answer()
            outcomes[name] = "ok"
        except RequestError as exc:
            outcomes[name] = type(exc).__name__

    service.ledger.move = held_move  # type: ignore[method-assign]
    try:
        winner = threading.Thread(target=run, args=("first", first))
        winner.start()
        assert inside.wait(WAIT)
        loser = threading.Thread(target=run, args=("second", second))
        loser.start()
        deadline = time.monotonic() + WAIT
        while not _waiting_on_a_lock(engine):  # polls for a state, with a deadline; no outcome depends on timing
            assert time.monotonic() < deadline, "the second answer never waited on the request's row"
            time.sleep(0.02)
        release.set()
        winner.join(WAIT)
        loser.join(WAIT)
    finally:
        release.set()
        del service.ledger.move
    return outcomes


@pytest.mark.parametrize("second_answer", ["sign", "decline"])
def test_racing_answers_on_postgres_have_one_winner_and_one_move(pg_engine: Engine, second_answer: str) -> None:
    ledger = Ledger(pg_engine)
    service = SigningRequests(pg_engine, ledger, secrets.token_bytes(32))
    request = _verified_request(ledger, service)

    def sign() -> None:
        service.sign(request, "Ana Souza", None, True, IP, UA)

    def decline() -> None:
        service.decline(request, "Valor errado", IP, UA)

    outcomes = _race(pg_engine, service, sign, sign if second_answer == "sign" else decline)
    assert outcomes == {"first": "ok", "second": AlreadySignedError.__name__}
    assert service.get(request.id).status is RequestStatus.SIGNED
    assert ledger.get(request.document_id).stage is Stage.CLIENT_SIGNED
    moves = [e.action for e in ledger.events(request.document_id) if e.action in ("client_signed", "declined")]
    assert moves == ["client_signed"]


def test_many_concurrent_signs_on_postgres_record_one_signature(pg_engine: Engine) -> None:
    ledger = Ledger(pg_engine)
    service = SigningRequests(pg_engine, ledger, secrets.token_bytes(32))
    request = _verified_request(ledger, service)
    start = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt() -> None:
        start.wait(WAIT)
        try:
            service.sign(request, "Ana Souza", None, True, IP, UA)
            outcomes.append("ok")
        except AlreadySignedError:
            outcomes.append("already")

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert sorted(outcomes) == ["already", "already", "already", "ok"]
    assert [e.action for e in ledger.events(request.document_id)].count("client_signed") == 1


def test_a_crash_before_the_commit_on_postgres_leaves_neither_write(pg_engine: Engine,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = Ledger(pg_engine)
    service = SigningRequests(pg_engine, ledger, secrets.token_bytes(32))
    request = _verified_request(ledger, service)
    real = ledger._insert_event

    def insert(conn: Any, document_id: str, action: str, *args: Any) -> None:
        if action == "client_signed":  # the request and the document are updated; the process dies here
            raise RuntimeError("worker killed before the commit")
        real(conn, document_id, action, *args)

    monkeypatch.setattr(ledger, "_insert_event", insert)
    with pytest.raises(RuntimeError):
        service.sign(request, "Ana Souza", None, True, IP, UA)
    monkeypatch.undo()
    assert service.get(request.id).status is RequestStatus.OPEN
    assert ledger.get(request.document_id).stage is Stage.SENT
    service.sign(request, "Ana Souza", None, True, IP, UA)
    assert ledger.get(request.document_id).stage is Stage.CLIENT_SIGNED


def test_the_last_two_signers_answering_at_once_move_the_document_once(pg_engine: Engine) -> None:
    """Two signers of one document (parallel order), each the last but for the other: the document's row is locked
    first, so the second waits, then sees the first's signature and moves the document; without the lock both
    would see the other still open and the document would wait for a signature that already exists."""
    from esign.model import SignerRole, SignerSpec
    from esign.model.signers import arrange

    ledger = Ledger(pg_engine)
    service = SigningRequests(pg_engine, ledger, secrets.token_bytes(32))
    people = [SignerSpec(position=0, role=SignerRole.SIGNER, name=name, phone=phone)
              for name, phone in (("Ana Souza", "+5511987654321"), ("Bruno Lima", "+5511987654322"))]
    doc, _ = ledger.create_document(deal_id=secrets.token_hex(4), template_id="contrato", title="Contrato",
                                    signers=arrange(people, "parallel"))
    ledger.move(doc.id, Stage.COMPANY_SIGNED, "company_signed", EventInfo(actor="Diretora"))
    ledger.move(doc.id, Stage.SENT, "sent", EventInfo(actor="pipeline", channel="sms"))
    expires = datetime.now(UTC) + timedelta(days=14)
    made = service.create_for_signers([(doc.id, 1, "sms", "+5511987654321"), (doc.id, 2, "sms", "+5511987654322")],
                                      expires)
    first, second = made[(doc.id, 1)], made[(doc.id, 2)]
    for request in (first, second):
        recorder = CodeRecorder()
        service.issue_code(request, recorder, IP, UA)
        service.check_code(request, recorder.last_code, IP, UA)

    real_settle = service._settle
    inside, release = threading.Event(), threading.Event()

    def held_settle(*args: Any, **kwargs: Any) -> None:
        if not inside.is_set():  # the first signer, inside its transaction: its request closed, not judged yet
            inside.set()
            assert release.wait(WAIT), "the second signer was never seen waiting"
        real_settle(*args, **kwargs)

    service._settle = held_settle  # type: ignore[method-assign]
    errors: list[BaseException] = []

    def sign(request: SigningRequest, name: str) -> None:
        try:
            service.sign(request, name, None, True, IP, UA)
        except BaseException as exc:  # reported below
            errors.append(exc)

    try:
        one = threading.Thread(target=sign, args=(first, "Ana Souza"))
        one.start()
        assert inside.wait(WAIT)
        two = threading.Thread(target=sign, args=(second, "Bruno Lima"))
        two.start()
        deadline = time.monotonic() + WAIT
        while not _waiting_on_a_lock(pg_engine):
            assert time.monotonic() < deadline, "the second signature never waited on the document's row"
            time.sleep(0.02)
        release.set()
        one.join(WAIT)
        two.join(WAIT)
    finally:
        release.set()
        del service._settle
    assert errors == []
    assert ledger.get(doc.id).stage is Stage.CLIENT_SIGNED
    actions = [e.action for e in ledger.events(doc.id) if e.action in ("signer_signed", "client_signed")]
    assert actions == ["signer_signed", "client_signed"]
