"""Delivering the outbox over real SMTP (aiosmtpd on loopback): sessions, refusals, outages, lost answers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from esign.dispatch.email import SmtpSender, SmtpSettings
from esign.dispatch.mailserver import LocalMailServer, MaildirHandler, read_messages
from esign.dispatch.outbox import Outbox
from esign.dispatch.records import DeliveryError, DeliveryReport, OutboxState, OutgoingMessage
from esign.errors import ConfigError

MakeInvite = Callable[..., OutgoingMessage]


class ScriptedHandler(MaildirHandler):
    """Files messages like the real one, but answers RCPT/DATA as told for some addresses."""

    def __init__(self, maildir: Path, rcpt: dict[str, str] | None = None, data: dict[str, str] | None = None) -> None:
        super().__init__(maildir)
        self.rcpt = rcpt or {}
        self.data = data or {}
        self.drop_after_data: set[str] = set()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.rcpt:
            return self.rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        [to] = envelope.rcpt_tos
        if to in self.data:
            return self.data[to]
        status = await super().handle_DATA(server, session, envelope)
        if to in self.drop_after_data:  # stored, but the client never hears "250"
            assert server.transport is not None
            server.transport.close()
        return status


@pytest.fixture
def scripted(maildir: Path) -> tuple[LocalMailServer, ScriptedHandler]:
    handler = ScriptedHandler(
        maildir,
        rcpt={"nobody@example.com": "550 5.1.1 <nobody@example.com>: mailbox unavailable",
              "busy@example.com": "451 4.3.0 mailbox busy, try later"},
        data={"spam@example.com": "554 5.6.0 message content rejected"},
    )  # fmt: skip
    return LocalMailServer(maildir, handler=handler), handler


def test_one_smtp_session_for_the_whole_batch(
    outbox: Outbox, make_invite: MakeInvite, mail_server: LocalMailServer, smtp_settings: SmtpSettings
) -> None:
    for i in range(5):
        outbox.enqueue(make_invite(f"R{i}", to=f"p{i}@example.com"))
    sender = SmtpSender(smtp_settings)
    assert outbox.deliver_pending({"email": sender}, limit=10) == DeliveryReport(sent=5)
    assert mail_server.sessions == 1 and sender.sessions == 1
    received = read_messages(mail_server.maildir)
    assert [m.header("To") for m in received] == [f"p{i}@example.com" for i in range(5)]
    assert all(e.state is OutboxState.SENT and e.provider_ref for e in outbox.entries())
    assert outbox.deliver_pending({"email": sender}) == DeliveryReport(), "nothing left, nothing sent again"
    assert mail_server.sessions == 1, "no session opened when there is nothing to send"


def test_sent_invite_arrives_with_html_text_link_and_accents(
    outbox: Outbox, make_invite: MakeInvite, mail_server: LocalMailServer, smtp_settings: SmtpSettings
) -> None:
    entry = outbox.enqueue(make_invite("R7"))
    outbox.deliver_pending({"email": SmtpSender(smtp_settings)})
    [received] = read_messages(mail_server.maildir)
    assert received.raw == entry.payload
    assert received.header("Message-ID") == entry.message_id
    assert received.links == ["https://sign.example.com/s/R7?t=a&b=1"]
    assert "João Conceição" in received.text and "prestação de serviços" in received.html
    assert "https://sign.example.com/s/R7?t=a&amp;b=1" in received.html
    assert received.path.name.endswith("-000001.eml")


def test_a_session_dropped_by_the_server_is_reopened_once(
    make_invite: MakeInvite, mail_server: LocalMailServer, smtp_settings: SmtpSettings
) -> None:
    first, second = make_invite("R1"), make_invite("R2")
    with SmtpSender(smtp_settings) as sender:
        sender.send_raw(first.destination, bytes(first.payload))  # type: ignore[arg-type]
        mail_server.stop()  # the server goes away: the open session is cut
        mail_server.start()  # and comes back on the same port
        sender.send_raw(second.destination, bytes(second.payload))  # type: ignore[arg-type]
        assert sender.sessions == 2
    assert len(read_messages(mail_server.maildir)) == 2


def test_a_session_dropped_while_the_server_stays_down_is_retryable(
    make_invite: MakeInvite, mail_server: LocalMailServer, smtp_settings: SmtpSettings
) -> None:
    message = make_invite("R1")
    with SmtpSender(smtp_settings) as sender:
        sender.send_raw(message.destination, bytes(message.payload))  # type: ignore[arg-type]
        mail_server.stop()
        with pytest.raises(DeliveryError) as caught:
            sender.send_raw(message.destination, bytes(message.payload))  # type: ignore[arg-type]
    assert caught.value.retryable and caught.value.channel_down and not caught.value.uncertain


def test_server_down_then_back(
    outbox: Outbox, make_invite: MakeInvite, maildir: Path, free_port: Callable[[], int]
) -> None:
    port = free_port()
    ids = [outbox.enqueue(make_invite(f"R{i}", to=f"p{i}@example.com")).id for i in range(3)]
    sender = SmtpSender(SmtpSettings(port=port, timeout=5))
    report = outbox.deliver_pending({"email": sender})
    assert report == DeliveryReport(retried=3)
    rows = [outbox.get(i) for i in ids]
    assert all(r is not None and r.state is OutboxState.PENDING for r in rows)
    assert [r.attempts for r in rows if r] == [1, 0, 0], "only the first was tried; the rest were released"
    assert "cannot open a session" in (rows[0].last_error or "")  # type: ignore[union-attr]
    with LocalMailServer(maildir, port=port):
        assert outbox.deliver_pending({"email": sender}) == DeliveryReport(sent=3)
    assert len(read_messages(maildir)) == 3


def test_a_rejected_recipient_fails_alone(
    outbox: Outbox, make_invite: MakeInvite, scripted: tuple[LocalMailServer, ScriptedHandler]
) -> None:
    server, _ = scripted
    with server:
        good1 = outbox.enqueue(make_invite("R1", to="ana@example.com"))
        bad = outbox.enqueue(make_invite("R2", to="nobody@example.com"))
        good2 = outbox.enqueue(make_invite("R3", to="bia@example.com"))
        report = outbox.deliver_pending({"email": SmtpSender(SmtpSettings(port=server.port, timeout=5))})
        assert report == DeliveryReport(sent=2, failed=1)
        assert server.sessions == 1, "the session survives a refused recipient"
    failed = outbox.get(bad.id)
    assert failed is not None and failed.state is OutboxState.FAILED
    assert failed.last_error is not None and "550" in failed.last_error and "mailbox unavailable" in failed.last_error
    assert {outbox.get(good1.id).state, outbox.get(good2.id).state} == {OutboxState.SENT}  # type: ignore[union-attr]
    assert [m.header("To") for m in read_messages(server.maildir)] == ["ana@example.com", "bia@example.com"]


def test_temporary_refusal_is_retried_and_content_refusal_is_permanent(
    outbox: Outbox, make_invite: MakeInvite, scripted: tuple[LocalMailServer, ScriptedHandler]
) -> None:
    server, handler = scripted
    busy = outbox.enqueue(make_invite("R1", to="busy@example.com"))
    spam = outbox.enqueue(make_invite("R2", to="spam@example.com"))
    with server:
        sender = SmtpSender(SmtpSettings(port=server.port, timeout=5))
        assert outbox.deliver_pending({"email": sender}) == DeliveryReport(failed=1, retried=1)
        row = outbox.get(busy.id)
        assert row is not None and row.state is OutboxState.PENDING and "451" in (row.last_error or "")
        row = outbox.get(spam.id)
        assert row is not None and row.state is OutboxState.FAILED and "554" in (row.last_error or "")
        del handler.rcpt["busy@example.com"]  # the mailbox frees up
        assert outbox.deliver_pending({"email": sender}) == DeliveryReport(sent=1)
    assert [m.header("To") for m in read_messages(server.maildir)] == ["busy@example.com"]


def test_connection_lost_after_data_is_uncertain_and_not_retried(
    outbox: Outbox, make_invite: MakeInvite, scripted: tuple[LocalMailServer, ScriptedHandler]
) -> None:
    server, handler = scripted
    handler.drop_after_data.add("lost@example.com")
    lost = outbox.enqueue(make_invite("R1", to="lost@example.com"))
    after = outbox.enqueue(make_invite("R2", to="ana@example.com"))
    with server:
        sender = SmtpSender(SmtpSettings(port=server.port, timeout=5))
        assert outbox.deliver_pending({"email": sender}) == DeliveryReport(sent=1, uncertain=1)
        assert outbox.deliver_pending({"email": sender}) == DeliveryReport()
        assert server.sessions == 2, "the next message opened a fresh session"
    row = outbox.get(lost.id)
    assert row is not None and row.state is OutboxState.UNCERTAIN and "may have been accepted" in (row.last_error or "")
    assert outbox.get(after.id).state is OutboxState.SENT  # type: ignore[union-attr]
    assert [m.header("To") for m in read_messages(server.maildir)] == ["lost@example.com", "ana@example.com"]


def test_bad_credentials_stop_the_run_and_keep_every_row(
    outbox: Outbox, make_invite: MakeInvite, mail_server: LocalMailServer
) -> None:
    ids = [outbox.enqueue(make_invite(f"R{i}")).id for i in range(2)]
    sender = SmtpSender(SmtpSettings(port=mail_server.port, username="robot", password="s3cret-pw", timeout=5))
    with pytest.raises(ConfigError) as caught:
        outbox.deliver_pending({"email": sender})
    assert "s3cret-pw" not in str(caught.value)
    rows = [outbox.get(i) for i in ids]
    assert [(r.state, r.attempts) for r in rows if r] == [(OutboxState.PENDING, 0)] * 2
    assert read_messages(mail_server.maildir) == []


def test_a_non_ascii_address_is_a_permanent_failure(
    outbox: Outbox, make_invite: MakeInvite, mail_server: LocalMailServer, smtp_settings: SmtpSettings
) -> None:
    entry = outbox.enqueue(make_invite("R1", to="joão@exemplo.com.br"))
    ok = outbox.enqueue(make_invite("R2", to="ana@example.com"))
    assert outbox.deliver_pending({"email": SmtpSender(smtp_settings)}) == DeliveryReport(sent=1, failed=1)
    assert "not ASCII" in (outbox.get(entry.id).last_error or "")  # type: ignore[union-attr]
    assert outbox.get(ok.id).state is OutboxState.SENT  # type: ignore[union-attr]


class Tarpit(MaildirHandler):
    """Answers every envelope command, each well within the per-command timeout, but slowly."""

    def __init__(self, maildir: Path, delay: float) -> None:
        super().__init__(maildir)
        self.delay = delay

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        await asyncio.sleep(self.delay)
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_deadline_bounds_the_whole_send_not_each_command(make_invite: MakeInvite, maildir: Path) -> None:
    """A relay answering each command after 0.6 s never trips a 30 s timeout; a 1 s deadline gives up before the
    body goes out (retryable: nothing was handed over)."""
    message = make_invite("R1")
    with LocalMailServer(maildir, handler=Tarpit(maildir, delay=0.6)) as server:
        sender = SmtpSender(SmtpSettings(port=server.port, timeout=30), deadline=1.0)
        with pytest.raises(DeliveryError, match=r"no answer within 1 s") as caught:
            sender.send_raw(message.destination, bytes(message.payload))  # type: ignore[arg-type]
        sender.close()
    assert caught.value.retryable and not caught.value.uncertain
    assert read_messages(maildir) == []


def test_a_relay_that_never_greets_is_given_up_at_the_deadline(make_invite: MakeInvite) -> None:
    """A listening socket that never answers (the TCP handshake completes in the kernel, no 220 ever comes)."""
    message = make_invite("R1")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        sender = SmtpSender(SmtpSettings(port=silent.getsockname()[1], timeout=30), deadline=0.5)
        with pytest.raises(DeliveryError, match="cannot open a session") as caught:
            sender.send_raw(message.destination, bytes(message.payload))  # type: ignore[arg-type]
    assert caught.value.retryable and caught.value.channel_down


def test_a_deadline_must_be_positive(smtp_settings: SmtpSettings) -> None:
    with pytest.raises(ConfigError, match="SMTP deadline"):
        SmtpSender(smtp_settings, deadline=0)
