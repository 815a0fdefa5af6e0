"""One-time codes exist for the client only once the relay accepted them, and live 5 minutes from then."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, select

from esign.requests import CodeError, SendFailedError, SigningRequest, SigningRequests, ThrottledError
from esign.requests.codes import IN_FLIGHT
from esign.requests.schema import signing_codes
from esign.store import Ledger
from tests.support import Clock, CodeRecorder

IP, UA = "203.0.113.7", "Mozilla/5.0 (Linux; Android 14) Mobile"


def _actions(ledger: Ledger, document_id: str) -> list[str]:
    return [e.action for e in ledger.events(document_id)]


def _states(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [r.state for r in conn.execute(select(signing_codes).order_by(signing_codes.c.sequence))]


@dataclass
class SlowRelay(CodeRecorder):
    """Accepts the code after ``minutes`` of the test's clock (a relay that takes its time, then says yes)."""

    clock: Clock | None = None
    minutes: float = 0

    def send_code(self, request: SigningRequest, code: str, sequence: int, intent: str = "sign") -> None:
        assert self.clock is not None
        self.clock.advance(minutes=self.minutes)
        super().send_code(request, code, sequence)


def test_a_code_the_relay_refused_is_void_and_the_client_may_ask_again_at_once(
        service: SigningRequests, request_: SigningRequest, recorder: CodeRecorder, clocked_ledger: Ledger,
        engine: Engine) -> None:
    recorder.fail = True
    with pytest.raises(SendFailedError):
        service.issue_code(request_, recorder, IP, UA)
    assert _actions(clocked_ledger, request_.document_id)[-1] == "code_send_failed"
    assert "code_sent" not in _actions(clocked_ledger, request_.document_id)
    assert _states(engine) == ["failed"]
    recorder.fail = False
    service.issue_code(request_, recorder, IP, UA)  # no 60-second wait: nothing reached the client
    assert _states(engine) == ["failed", "sent"]
    assert _actions(clocked_ledger, request_.document_id)[-1] == "code_sent"
    service.check_code(request_, recorder.last_code, IP, UA)
    assert service.is_verified(request_)


def test_a_void_code_never_verifies_even_if_it_arrives_later(service: SigningRequests, request_: SigningRequest,
                                                            clock: Clock) -> None:
    """The relay took the message but answered too late for the portal: the code is void."""
    late = CodeRecorder()

    class AcceptsThenTimesOut(CodeRecorder):
        def send_code(self, request: SigningRequest, code: str, sequence: int, intent: str = "sign") -> None:
            late.sent.append((request.id, code, sequence))  # it did reach the client ...
            raise TimeoutError("no answer within 5 s")  # ... but the portal never heard so

    with pytest.raises(SendFailedError):
        service.issue_code(request_, AcceptsThenTimesOut(), IP, UA)
    with pytest.raises(CodeError) as info:
        service.check_code(request_, late.last_code, IP, UA)
    assert info.value.reason == "code_missing"


def test_the_five_minutes_start_when_the_relay_accepted_the_code(service: SigningRequests,
                                                                 request_: SigningRequest, clock: Clock) -> None:
    relay = SlowRelay(clock=clock, minutes=4)
    service.issue_code(request_, relay, IP, UA)
    clock.advance(minutes=4, seconds=59)  # 8m59s after the click, 4m59s after the relay took it
    service.check_code(request_, relay.last_code, IP, UA)
    assert service.is_verified(request_)


def test_a_second_click_while_the_first_code_is_in_flight_waits(service: SigningRequests,
                                                                request_: SigningRequest, clock: Clock,
                                                                engine: Engine) -> None:
    seen: list[str] = []

    class ClicksAgain(CodeRecorder):
        def send_code(self, request: SigningRequest, code: str, sequence: int, intent: str = "sign") -> None:
            with pytest.raises(ThrottledError) as info:
                service.issue_code(request, CodeRecorder(), IP, UA)
            seen.append(str(info.value))
            super().send_code(request, code, sequence)

    service.issue_code(request_, ClicksAgain(), IP, UA)
    assert seen == ["um código está sendo enviado; aguarde alguns segundos"]
    assert _states(engine) == ["sent"]


def test_a_code_left_in_flight_by_a_dead_process_does_not_block_for_long(
        service: SigningRequests, request_: SigningRequest, clock: Clock, engine: Engine) -> None:
    class Dies(CodeRecorder):
        def send_code(self, request: SigningRequest, code: str, sequence: int, intent: str = "sign") -> None:
            raise KeyboardInterrupt  # not an Exception: nothing records an outcome, as when the process dies

    with pytest.raises(KeyboardInterrupt):
        service.issue_code(request_, Dies(), IP, UA)
    assert _states(engine) == ["sending"]
    with pytest.raises(ThrottledError):
        service.issue_code(request_, CodeRecorder(), IP, UA)
    clock.advance(seconds=IN_FLIGHT.total_seconds())
    recorder = CodeRecorder()
    service.issue_code(request_, recorder, IP, UA)
    assert _states(engine) == ["sending", "sent"]
    service.check_code(request_, recorder.last_code, IP, UA)
