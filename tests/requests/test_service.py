"""The signing-request service against a real SQLite ledger, with the clock moved by hand."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image
from sqlalchemy import Engine, select

from esign.errors import StoreError
from esign.model import Stage
from esign.requests import (
    AlreadySignedError,
    CanceledError,
    CodeError,
    DeclinedError,
    InvalidInputError,
    LinkExpiredError,
    NotReadyError,
    NotVerifiedError,
    RequestError,
    RequestStatus,
    SendFailedError,
    SigningRequest,
    SigningRequests,
    ThrottledError,
    UnknownLinkError,
)
from esign.requests.inputs import mask_destination
from esign.requests.schema import signing_codes, signing_requests
from esign.store import EventInfo, Ledger

if TYPE_CHECKING:
    from conftest import Clock, CodeRecorder

IP, UA = "203.0.113.7", "Mozilla/5.0 (Linux; Android 14) Mobile"


def _png(width: int = 300, height: int = 100, draw: bool = True) -> bytes:
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    if draw:
        for x in range(20, 200):
            image.putpixel((x, 50 + (x % 7)), (0, 0, 0, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _verify(service: SigningRequests, request: SigningRequest, recorder: CodeRecorder) -> None:
    service.issue_code(request, recorder, IP, UA)
    service.check_code(request, recorder.last_code, IP, UA)


def _actions(ledger: Ledger, document_id: str) -> list[str]:
    return [e.action for e in ledger.events(document_id)]


# -- links ------------------------------------------------------------------------------------------
def test_create_is_idempotent_and_the_link_is_derived_not_stored(
        service: SigningRequests, request_: SigningRequest, engine: Engine, clock: Clock) -> None:
    again = service.create(request_.document_id, "email", "other@example.com", clock.now + timedelta(days=1))
    assert again == request_
    assert len(base64.urlsafe_b64decode(request_.id[4:] + "==")) == 16  # 128 random bits
    token = service.token_for(request_)
    assert len(base64.urlsafe_b64decode(token + "=")) == 32
    assert service.link_for(request_, "https://sign.example.com/") == f"https://sign.example.com/s/{token}"
    assert service.resolve(token) == request_
    with engine.connect() as conn:
        row = conn.execute(select(signing_requests)).one()
    assert token not in [str(v) for v in row]
    assert row.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert request_.masked_destination == "+5511*****4321"


def test_create_many_keeps_open_requests_and_makes_the_missing_ones(
        service: SigningRequests, request_: SigningRequest, sent_document: Callable[..., str],
        clock: Clock) -> None:
    other = sent_document()
    expires = clock.now + timedelta(days=14)
    made = service.create_many([(request_.document_id, "email", "x@example.com"),
                                (other, "email", "cliente@example.com")], expires)
    assert made[request_.document_id] == request_  # the open request is kept, as create does
    assert made[other] == service.for_document(other) and made[other].destination == "cliente@example.com"
    again = service.create_many([(other, "sms", "+55 11 98765-4321")], expires)
    assert again == {other: made[other]}
    assert service.create(other, "email", "y@example.com", expires) == made[other]
    with pytest.raises(StoreError):
        service.create_many([("DOC-NOPE", "email", "x@example.com")], expires)


def test_a_rerun_with_the_same_secret_rebuilds_the_same_link(
        service: SigningRequests, request_: SigningRequest, engine: Engine, clocked_ledger: Ledger,
        clock: Clock) -> None:
    restarted = SigningRequests(engine, clocked_ledger, service._secret, clock=clock)
    again = restarted.create(request_.document_id, "sms", "+55 11 98765-4321", clock.now + timedelta(days=14))
    assert restarted.link_for(again, "http://x") == service.link_for(request_, "http://x")


def test_concurrent_creates_make_one_request(service: SigningRequests, sent_document: Callable[..., str],
                                              clock: Clock) -> None:
    doc = sent_document()
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(
        service.create(doc, "email", "ana@example.com", clock.now + timedelta(days=3)).id)) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1


@pytest.mark.parametrize("token", ["", "abc", "A" * 43, "../../etc/passwd", "A" * 500])
def test_unknown_tokens(service: SigningRequests, request_: SigningRequest, token: str) -> None:
    with pytest.raises(UnknownLinkError) as info:
        service.resolve(token)
    assert info.value.reason == "unknown"


def test_tampered_token_is_unknown(service: SigningRequests, request_: SigningRequest) -> None:
    token = service.token_for(request_)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(UnknownLinkError):
        service.resolve(flipped)
    other = SigningRequests(service.engine, service.ledger, b"x" * 32)
    with pytest.raises(UnknownLinkError):
        service.resolve(other.token_for(request_))  # forged with another secret


def test_expired_link_and_expire_due(service: SigningRequests, request_: SigningRequest, clock: Clock,
                                     clocked_ledger: Ledger) -> None:
    token = service.token_for(request_)
    clock.advance(days=14)
    with pytest.raises(LinkExpiredError) as info:
        service.resolve(token)
    assert info.value.reason == "expired"
    assert service.expire_due() == [request_.document_id]
    assert service.expire_due() == []  # idempotent
    assert clocked_ledger.get(request_.document_id).stage is Stage.EXPIRED
    assert service.get(request_.id).status is RequestStatus.EXPIRED
    with pytest.raises(LinkExpiredError):
        service.resolve(token)


def test_canceled_document_closes_the_link(service: SigningRequests, request_: SigningRequest,
                                           clocked_ledger: Ledger) -> None:
    clocked_ledger.move(request_.document_id, Stage.CANCELED, "canceled", EventInfo(actor="ops"))
    with pytest.raises(CanceledError):
        service.resolve(service.token_for(request_))


def test_pending_lists_old_open_requests(service: SigningRequests, request_: SigningRequest,
                                         clock: Clock) -> None:
    assert service.pending(timedelta(days=2)) == []
    clock.advance(days=3)
    assert [r.id for r in service.pending(timedelta(days=2))] == [request_.id]
    assert service.for_document(request_.document_id) == request_


def test_mark_viewed_moves_once_then_logs_each_client_once_per_half_hour(
        service: SigningRequests, request_: SigningRequest, clocked_ledger: Ledger, clock: Clock) -> None:
    assert service.mark_viewed(request_, IP, UA)
    assert clocked_ledger.get(request_.document_id).stage is Stage.VIEWED
    assert [service.mark_viewed(request_, IP, UA) for _ in range(50)] == [False] * 50  # reloads
    clock.advance(minutes=29)
    assert not service.mark_viewed(request_, IP, UA)
    assert service.mark_viewed(request_, "198.51.100.9", UA), "another network: another client"
    assert service.mark_viewed(request_, IP, "Mozilla/5.0 (iPhone) Safari"), "another browser"
    clock.advance(minutes=2)
    assert service.mark_viewed(request_, IP, UA), "31 minutes after the last one logged"
    views = [e for e in clocked_ledger.events(request_.document_id) if e.action == "viewed"]
    assert [e.stage for e in views] == [Stage.VIEWED, None, None, None]
    assert views[0].ip == IP and views[0].user_agent == UA and views[0].channel == "sms"


# -- codes ------------------------------------------------------------------------------------------
def test_code_is_sent_hashed_and_logged_masked(service: SigningRequests, request_: SigningRequest,
                                               recorder: CodeRecorder, engine: Engine,
                                               clocked_ledger: Ledger) -> None:
    service.issue_code(request_, recorder, IP, UA)
    (_, code, sequence), = recorder.sent
    assert len(code) == 6 and code.isdigit() and sequence == 1
    with engine.connect() as conn:
        stored = conn.execute(select(signing_codes)).one()
    assert code not in [str(v) for v in stored]
    assert stored.code_hmac == hmac.new(service._secret, f"code:{request_.id}:{code}".encode(),
                                        hashlib.sha256).hexdigest()
    event = clocked_ledger.events(request_.document_id)[-1]
    assert event.action == "code_sent" and "+5511*****4321" in event.detail and code not in event.detail
    assert all(code not in e.detail for e in clocked_ledger.events(request_.document_id))


def test_right_code_verifies_once(service: SigningRequests, request_: SigningRequest, recorder: CodeRecorder,
                                  clocked_ledger: Ledger) -> None:
    assert not service.is_verified(request_)
    _verify(service, request_, recorder)
    assert service.is_verified(request_)
    assert _actions(clocked_ledger, request_.document_id)[-1] == "code_verified"
    with pytest.raises(CodeError) as info:
        service.check_code(request_, recorder.last_code, IP, UA)
    assert info.value.reason == "code_missing"


def test_five_wrong_codes_burn_the_code(service: SigningRequests, request_: SigningRequest,
                                        recorder: CodeRecorder, clocked_ledger: Ledger, clock: Clock) -> None:
    service.issue_code(request_, recorder, IP, UA)
    wrong = f"{(int(recorder.last_code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        with pytest.raises(CodeError) as info:
            service.check_code(request_, wrong, IP, UA)
        assert info.value.reason == "code_invalid" and info.value.tries_left == left
    with pytest.raises(CodeError) as info:
        service.check_code(request_, wrong, IP, UA)
    assert info.value.reason == "code_burned"
    with pytest.raises(CodeError) as info:
        service.check_code(request_, recorder.last_code, IP, UA)  # even the right one, now
    assert info.value.reason == "code_burned"
    assert _actions(clocked_ledger, request_.document_id).count("code_failed") == 5
    clock.advance(seconds=60)
    _verify(service, request_, recorder)  # a new code works
    assert service.is_verified(request_)


@pytest.mark.parametrize("garbage", ["", "12345", "1234567", "abcdef", " 12 34 "])
def test_malformed_codes_count_as_wrong(service: SigningRequests, request_: SigningRequest,
                                        recorder: CodeRecorder, garbage: str) -> None:
    service.issue_code(request_, recorder, IP, UA)
    with pytest.raises(CodeError) as info:
        service.check_code(request_, garbage, IP, UA)
    assert info.value.reason == "code_invalid"


def test_code_expires_after_five_minutes(service: SigningRequests, request_: SigningRequest,
                                         recorder: CodeRecorder, clock: Clock) -> None:
    service.issue_code(request_, recorder, IP, UA)
    clock.advance(minutes=4, seconds=59)
    service.check_code(request_, recorder.last_code, IP, UA)  # still fine
    clock.advance(seconds=60)
    service.issue_code(request_, recorder, IP, UA)
    clock.advance(minutes=5)
    with pytest.raises(CodeError) as info:
        service.check_code(request_, recorder.last_code, IP, UA)
    assert info.value.reason == "code_expired"


def test_only_the_newest_code_counts(service: SigningRequests, request_: SigningRequest,
                                     recorder: CodeRecorder, clock: Clock) -> None:
    service.issue_code(request_, recorder, IP, UA)
    first = recorder.last_code
    clock.advance(seconds=61)
    service.issue_code(request_, recorder, IP, UA)
    if first != recorder.last_code:
        with pytest.raises(CodeError):
            service.check_code(request_, first, IP, UA)
    service.check_code(request_, recorder.last_code, IP, UA)


def test_resend_is_throttled(service: SigningRequests, request_: SigningRequest, recorder: CodeRecorder,
                             clock: Clock) -> None:
    service.issue_code(request_, recorder, IP, UA)
    clock.advance(seconds=20)
    with pytest.raises(ThrottledError) as info:
        service.issue_code(request_, recorder, IP, UA)
    assert info.value.retry_after == 40 and "40 segundos" in str(info.value)
    for _ in range(4):
        clock.advance(seconds=60)
        service.issue_code(request_, recorder, IP, UA)
    assert len(recorder.sent) == 5
    clock.advance(seconds=60)  # 5m20s after the first, 5 codes sent: the hourly limit holds
    with pytest.raises(ThrottledError) as info:
        service.issue_code(request_, recorder, IP, UA)
    assert info.value.retry_after == 3600 - 320 and "55 minutos" in str(info.value)
    clock.advance(seconds=3600 - 320)
    service.issue_code(request_, recorder, IP, UA)
    assert len(recorder.sent) == 6


def test_a_failed_send_is_logged_and_reported(service: SigningRequests, request_: SigningRequest,
                                              recorder: CodeRecorder, clocked_ledger: Ledger) -> None:
    recorder.fail = True
    with pytest.raises(SendFailedError):
        service.issue_code(request_, recorder, IP, UA)
    assert _actions(clocked_ledger, request_.document_id)[-1] == "code_send_failed"


# -- sign / decline -----------------------------------------------------------------------------------
def test_sign_needs_a_recent_verified_code_and_consent(service: SigningRequests, request_: SigningRequest,
                                                       recorder: CodeRecorder, clock: Clock) -> None:
    with pytest.raises(NotVerifiedError):
        service.sign(request_, "Ana Souza", None, True, IP, UA)
    _verify(service, request_, recorder)
    with pytest.raises(RequestError) as info:
        service.sign(request_, "Ana Souza", None, False, IP, UA)
    assert info.value.reason == "consent_required"
    clock.advance(minutes=15)
    with pytest.raises(NotVerifiedError):
        service.sign(request_, "Ana Souza", None, True, IP, UA)
    assert service.get(request_.id).status is RequestStatus.OPEN


@pytest.mark.parametrize(("name", "field"), [
    ("", "typed_name"), ("   ", "typed_name"), ("A" * 201, "typed_name"), ("Ana\x00Souza", "typed_name"),
    ("Ana\u202eSouza", "typed_name"),
])
def test_bad_typed_names(service: SigningRequests, request_: SigningRequest, recorder: CodeRecorder,
                         name: str, field: str) -> None:
    _verify(service, request_, recorder)
    with pytest.raises(InvalidInputError) as info:
        service.sign(request_, name, None, True, IP, UA)
    assert info.value.field == field


@pytest.mark.parametrize("png", [
    b"not an image", _png(2001, 100), b"\x89PNG" + b"0" * (1024 * 1024),
])
def test_bad_drawings(service: SigningRequests, request_: SigningRequest, recorder: CodeRecorder,
                      png: bytes) -> None:
    _verify(service, request_, recorder)
    with pytest.raises(InvalidInputError) as info:
        service.sign(request_, "Ana Souza", png, True, IP, UA)
    assert info.value.field == "drawn_png"


def test_jpeg_is_refused(service: SigningRequests, request_: SigningRequest, recorder: CodeRecorder) -> None:
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, format="JPEG")
    _verify(service, request_, recorder)
    with pytest.raises(InvalidInputError):
        service.sign(request_, "Ana Souza", out.getvalue(), True, IP, UA)


def test_sign_exactly_once_and_evidence_round_trip(service: SigningRequests, request_: SigningRequest,
                                                   recorder: CodeRecorder, clocked_ledger: Ledger,
                                                   clock: Clock) -> None:
    service.mark_viewed(request_, IP, UA)
    service.issue_code(request_, recorder, IP, UA)
    clock.advance(seconds=30)
    service.check_code(request_, recorder.last_code, IP, UA)
    verified_at = clock.now
    clock.advance(minutes=2)
    service.sign(request_, "  Ana   Souza ", _png(), True, IP, UA)
    with pytest.raises(AlreadySignedError) as info:
        service.sign(request_, "Ana Souza", None, True, IP, UA)
    assert info.value.reason == "signed"
    with pytest.raises(AlreadySignedError):
        service.resolve(service.token_for(request_))  # the link cannot be reused
    with pytest.raises(AlreadySignedError):
        service.issue_code(request_, recorder, IP, UA)
    signed = [e for e in clocked_ledger.events(request_.document_id) if e.action == "client_signed"]
    assert len(signed) == 1 and signed[0].ip == IP and signed[0].user_agent == UA and signed[0].channel == "sms"
    assert clocked_ledger.get(request_.document_id).stage is Stage.CLIENT_SIGNED

    evidence = service.evidence(request_.document_id)[0]
    assert evidence.signer_name == evidence.typed_name == "Ana Souza"
    assert evidence.signed_at == clock.now and evidence.code_verified_at == verified_at
    assert evidence.channel == "sms" and evidence.masked_destination == "+5511*****4321"
    assert evidence.ip == IP and evidence.user_agent == UA
    assert evidence.drawn_png is not None
    with Image.open(io.BytesIO(evidence.drawn_png)) as image:
        assert image.format == "PNG" and image.mode == "RGBA" and image.size == (300, 100)
    assert service.expire_due(clock.now + timedelta(days=30)) == []  # a signed request never expires
    # the bulk form gives the same, and leaves out documents nobody signed
    assert service.evidence_many([request_.document_id, "DOC-UNSIGNED"]) == {request_.document_id: (evidence,)}


def test_a_blank_drawing_is_no_drawing(service: SigningRequests, request_: SigningRequest,
                                       recorder: CodeRecorder) -> None:
    _verify(service, request_, recorder)
    service.sign(request_, "Ana Souza", _png(draw=False), True, IP, UA)
    assert service.evidence(request_.document_id)[0].drawn_png is None


def test_concurrent_signs_record_one_signature(service: SigningRequests, request_: SigningRequest,
                                               recorder: CodeRecorder, clocked_ledger: Ledger) -> None:
    _verify(service, request_, recorder)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            service.sign(request_, "Ana Souza", None, True, IP, UA)
            outcomes.append("ok")
        except AlreadySignedError:
            outcomes.append("already")

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already", "already", "already", "ok"]
    assert _actions(clocked_ledger, request_.document_id).count("client_signed") == 1


def test_decline(service: SigningRequests, request_: SigningRequest, recorder: CodeRecorder,
                 clocked_ledger: Ledger) -> None:
    with pytest.raises(NotVerifiedError):
        service.decline(request_, "Valor errado", IP, UA)
    _verify(service, request_, recorder)
    with pytest.raises(InvalidInputError):
        service.decline(request_, "   ", IP, UA)
    with pytest.raises(InvalidInputError):
        service.decline(request_, "x" * 1001, IP, UA)
    service.decline(request_, "O valor da parcela\nestá errado", IP, UA)
    with pytest.raises(DeclinedError):
        service.decline(request_, "de novo", IP, UA)
    with pytest.raises(DeclinedError):
        service.sign(request_, "Ana Souza", None, True, IP, UA)
    last = clocked_ledger.events(request_.document_id)[-1]
    assert last.action == "declined" and last.stage is Stage.DECLINED and "parcela" in last.detail
    assert service.get(request_.id).decline_reason == "O valor da parcela\nestá errado"
    with pytest.raises(RequestError) as info:
        service.evidence(request_.document_id)
    assert info.value.reason == "not_signed"


def _crash_at_the_event(monkeypatch: pytest.MonkeyPatch, ledger: Ledger, action: str) -> None:
    """The process dies after the request's UPDATE and the document's UPDATE, as the event is written."""
    real = ledger._insert_event

    def insert(conn: Any, document_id: str, what: str, *args: Any) -> None:
        if what == action:
            raise RuntimeError("worker killed before the commit")
        real(conn, document_id, what, *args)

    monkeypatch.setattr(ledger, "_insert_event", insert)


@pytest.mark.parametrize("answer", ["sign", "decline"])
def test_a_crash_inside_the_answer_leaves_neither_the_request_closed_nor_the_document_moved(
        answer: str, service: SigningRequests, request_: SigningRequest, recorder: CodeRecorder,
        clocked_ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    _verify(service, request_, recorder)
    action = {"sign": "client_signed", "decline": "declined"}[answer]

    def submit() -> None:
        if answer == "sign":
            service.sign(request_, "Ana Souza", None, True, IP, UA)
        else:
            service.decline(request_, "Valor errado", IP, UA)

    with monkeypatch.context() as patch:
        _crash_at_the_event(patch, clocked_ledger, action)
        with pytest.raises(RuntimeError, match="worker killed"):
            submit()
    assert service.get(request_.id).status is RequestStatus.OPEN
    assert service.get(request_.id).signed_at is None and service.get(request_.id).decline_reason is None
    assert clocked_ledger.get(request_.document_id).stage is Stage.SENT
    assert action not in _actions(clocked_ledger, request_.document_id)
    submit()  # the client submits again: it goes through, once
    assert clocked_ledger.get(request_.document_id).stage is Stage(action)
    assert _actions(clocked_ledger, request_.document_id).count(action) == 1
    assert clocked_ledger.derived_stage(request_.document_id) is Stage(action)


def test_a_refused_move_leaves_the_request_open_and_tells_the_client_why(
        service: SigningRequests, request_: SigningRequest, recorder: CodeRecorder, clocked_ledger: Ledger,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _verify(service, request_, recorder)
    verified = service.get(request_.id)
    # staff cancel the document (the ledger only) after the client's checks passed, before the answer commits
    clocked_ledger.move(request_.document_id, Stage.CANCELED, "canceled", EventInfo(actor="ops"))
    monkeypatch.setattr(service, "_require_verified", lambda _request: verified)
    real_check = service._check_open
    calls: list[int] = []

    def check_after_the_first(request: SigningRequest) -> None:
        calls.append(1)
        if len(calls) > 1:  # the first check passed before the cancel; the one after the refused move is real
            real_check(request)

    monkeypatch.setattr(service, "_check_open", check_after_the_first)
    with pytest.raises(CanceledError):
        service.sign(request_, "Ana Souza", None, True, IP, UA)
    assert service.get(request_.id).status is RequestStatus.OPEN  # not signed: the whole answer rolled back
    assert clocked_ledger.get(request_.document_id).stage is Stage.CANCELED
    assert "client_signed" not in _actions(clocked_ledger, request_.document_id)


def test_a_crash_inside_expiry_leaves_the_request_open_and_the_next_run_expires_it(
        service: SigningRequests, request_: SigningRequest, clock: Clock, clocked_ledger: Ledger,
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock.advance(days=14)
    with monkeypatch.context() as patch:
        _crash_at_the_event(patch, clocked_ledger, "expired")
        with pytest.raises(RuntimeError):
            service.expire_due()
    assert service.get(request_.id).status is RequestStatus.OPEN
    assert clocked_ledger.get(request_.document_id).stage is Stage.SENT
    assert service.expire_due() == [request_.document_id]
    assert service.get(request_.id).status is RequestStatus.EXPIRED
    assert clocked_ledger.get(request_.document_id).stage is Stage.EXPIRED


def test_cancel_closes_the_link_and_moves_the_document_together(
        service: SigningRequests, request_: SigningRequest, clocked_ledger: Ledger,
        monkeypatch: pytest.MonkeyPatch) -> None:
    info = EventInfo(actor="Maria", channel="staff", detail="deal lost")
    with monkeypatch.context() as patch:
        _crash_at_the_event(patch, clocked_ledger, "canceled")
        with pytest.raises(RuntimeError):
            service.cancel(request_.document_id, info)
    assert service.get(request_.id).status is RequestStatus.OPEN
    assert clocked_ledger.get(request_.document_id).stage is Stage.SENT
    assert service.cancel(request_.document_id, info) is True
    assert service.get(request_.id).status is RequestStatus.CANCELED
    assert clocked_ledger.get(request_.document_id).stage is Stage.CANCELED
    assert service.cancel(request_.document_id, info) is False  # a re-run: no live link, already canceled
    assert _actions(clocked_ledger, request_.document_id).count("canceled") == 1


def test_cancel_after_the_client_signed_writes_nothing(
        service: SigningRequests, request_: SigningRequest, recorder: CodeRecorder, clocked_ledger: Ledger) -> None:
    _verify(service, request_, recorder)
    service.sign(request_, "Ana Souza", None, True, IP, UA)
    with pytest.raises(StoreError):
        service.cancel(request_.document_id, EventInfo(actor="Maria", channel="staff"))
    assert service.get(request_.id).status is RequestStatus.SIGNED
    assert clocked_ledger.get(request_.document_id).stage is Stage.CLIENT_SIGNED


def test_a_crash_inside_the_first_view_leaves_the_request_unviewed(
        service: SigningRequests, request_: SigningRequest, clocked_ledger: Ledger,
        monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        _crash_at_the_event(patch, clocked_ledger, "viewed")
        with pytest.raises(RuntimeError):
            service.mark_viewed(request_, IP, UA)
    assert service.get(request_.id).viewed_at is None
    assert clocked_ledger.get(request_.document_id).stage is Stage.SENT
    assert service.mark_viewed(request_, IP, UA) is True
    assert service.get(request_.id).viewed_at is not None
    assert clocked_ledger.get(request_.document_id).stage is Stage.VIEWED


def test_reissue_after_expiry_opens_a_new_attempt(service: SigningRequests, sent_document: Callable[..., str],
                                                  clock: Clock, engine: Engine) -> None:
    doc = sent_document()
    first = service.create(doc, "email", "ana@example.com", clock.now + timedelta(days=1))
    with engine.begin() as conn:
        conn.execute(signing_requests.update().values(status="canceled"))
    second = service.create(doc, "email", "ana@example.com", clock.now + timedelta(days=1))
    assert second.attempt == 2 and second.id != first.id
    assert service.token_for(first) != service.token_for(second)


def test_masking() -> None:
    assert mask_destination("joana.silva@example.com") == "j***@example.com"
    assert mask_destination("+55 (11) 98765-4321") == "+5511*****4321"
    assert mask_destination("1234") == "****"


def test_secret_must_be_long(engine: Engine, clocked_ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SigningRequests(engine, clocked_ledger, b"short")


def test_a_document_not_yet_recorded_as_sent_can_be_viewed_but_not_signed(
        service: SigningRequests, clocked_ledger: Ledger, recorder: CodeRecorder, clock: Clock) -> None:
    doc, _ = clocked_ledger.create_document(deal_id="77", template_id="contrato", title="Contrato")
    clocked_ledger.move(doc.id, Stage.COMPANY_SIGNED, "company_signed")
    request = service.create(doc.id, "email", "ana@example.com", clock.now + timedelta(days=1))
    service.mark_viewed(request, IP, UA)  # logged, no stage move from company_signed
    assert clocked_ledger.get(doc.id).stage is Stage.COMPANY_SIGNED
    _verify(service, request, recorder)
    with pytest.raises(NotReadyError):
        service.sign(request, "Ana Souza", None, True, IP, UA)
    assert service.get(request.id).status is RequestStatus.OPEN
