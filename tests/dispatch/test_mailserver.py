"""The demo's local SMTP server: free port, exact bytes, ordered files, stop and start."""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest

from esign.dispatch.mailserver import LocalMailServer, read_messages


def test_free_port_exact_bytes_and_ordered_files(tmp_path: Path) -> None:
    maildir = tmp_path / "mail"
    with LocalMailServer(maildir) as server:
        assert server.port > 0 and server.running
        with smtplib.SMTP("127.0.0.1", server.port, timeout=5) as client:
            for n in range(3):
                client.sendmail("a@esign.local", ["b@example.com"], f"Subject: n{n}\r\n\r\ncorpo {n}\r\n".encode())
        assert server.sessions == 1
    assert not server.running
    messages = read_messages(maildir)
    assert [m.header("Subject") for m in messages] == ["n0", "n1", "n2"]
    assert messages[0].raw == b"Subject: n0\r\n\r\ncorpo 0\r\n"
    assert [p.name for p in sorted(maildir.iterdir())] == [m.path.name for m in messages], "no temp files left"
    assert messages[2].path.name.endswith("-000003.eml")
    with pytest.raises(OSError):
        smtplib.SMTP("127.0.0.1", server.port, timeout=5)


def test_read_messages_of_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert read_messages(tmp_path / "nothing") == []


def test_start_twice_is_harmless_and_restart_keeps_the_port(tmp_path: Path) -> None:
    server = LocalMailServer(tmp_path / "mail")
    server.start()
    port = server.port
    server.start()
    server.stop()
    server.stop()
    server.start()
    try:
        assert server.port == port
    finally:
        server.stop()
