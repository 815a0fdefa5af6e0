"""Building the pt-BR messages, the SMTP settings, and sending through a real local SMTP server."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

import pytest

from esign.dispatch.email import (
    EmailTemplates,
    Reader,
    SmtpSender,
    SmtpSettings,
    build_code,
    build_final_copy,
    build_invite,
    build_reminder,
    replace_message_id,
)
from esign.dispatch.mailserver import LocalMailServer, read_messages
from esign.errors import ConfigError, DispatchError
from esign.i18n import translator

LINK = "https://sign.example.com/s/R1?t=a&b=<1>"
FROM = "Açúcar Contratos <no-reply@esign.local>"
EXPIRES = datetime(2031, 3, 15, 21, 0, tzinfo=UTC)


def _part(msg: Message, subtype: str) -> str:
    body = msg.get_body((subtype,))  # type: ignore[attr-defined]
    assert body is not None
    return str(body.get_content())


def _invite(templates: EmailTemplates, **overrides: object) -> bytes:
    values: dict[str, object] = {
        "from_addr": FROM, "to": "maria@example.com", "message_id": "<fixed-1@esign.local>",
        "company_name": "Açúcar & Companhia", "document_title": "Contrato nº 7 <urgente>",
        "signer_name": "Maria Conceição", "link": LINK, "expires_at": EXPIRES, "document_id": "DOC-1",
    }  # fmt: skip
    values.update(overrides)
    return build_invite(templates, **values)  # type: ignore[arg-type]


def test_invite_has_text_and_html_in_portuguese_with_escaped_values(templates: EmailTemplates) -> None:
    raw = _invite(templates)
    assert b"\n" not in raw.replace(b"\r\n", b""), "every line ends in CRLF"
    assert raw.isascii(), "7-bit clean: any relay takes it"
    msg = message_from_bytes(raw, policy=SMTP_POLICY)
    assert msg["Message-ID"] == "<fixed-1@esign.local>"
    assert msg["From"] == FROM
    assert msg["X-Esign-Document"] == "DOC-1"
    assert msg.get_content_type() == "multipart/alternative"
    assert str(msg["Subject"]) == "Açúcar & Companhia: documento para assinatura — Contrato nº 7 <urgente>"
    text = _part(msg, "plain")
    html = _part(msg, "html")
    assert LINK in text
    assert "Maria Conceição" in text and "eletrônica" in text
    assert text.startswith("Olá, Maria Conceição,\r\n"), "the contact person greeted, one comma, no double period"
    assert "15/03/2031 18:00 (UTC-03:00)" in text, "expiry shown in São Paulo time, with its zone"
    assert 'href="https://sign.example.com/s/R1?t=a&amp;b=&lt;1&gt;"' in html
    assert "Contrato nº 7 &lt;urgente&gt;" in html and "<urgente>" not in html
    assert "Açúcar &amp; Companhia" in html


def test_reminder_and_code(templates: EmailTemplates) -> None:
    reminder = message_from_bytes(
        build_reminder(
            templates, from_addr=FROM, to="a@example.com", message_id="<r@esign.local>", company_name="ACME",
            document_title="Aditivo", signer_name="", link="https://x.example/s/1", expires_at=EXPIRES, number=2,
        ),
        policy=SMTP_POLICY,
    )  # fmt: skip
    assert str(reminder["Subject"]) == "Lembrete: Aditivo aguarda a sua assinatura"
    assert _part(reminder, "plain").startswith("Olá,\r\n")
    code = message_from_bytes(
        build_code(
            templates, from_addr=FROM, to="a@example.com", message_id="<c@esign.local>", company_name="ACME",
            document_title="Aditivo", signer_name="Ana", code="482913", valid_minutes=5,
        ),
        policy=SMTP_POLICY,
    )  # fmt: skip
    assert "482913" in str(code["Subject"])
    assert "482913" in _part(code, "plain")
    assert "5 minutos" in _part(code, "html") and "para assinar" in _part(code, "plain")
    decline = message_from_bytes(
        build_code(
            templates, from_addr=FROM, to="a@example.com", message_id="<d@esign.local>", company_name="ACME",
            document_title="Aditivo", signer_name="Ana", code="482913", valid_minutes=5, intent="decline",
        ),
        policy=SMTP_POLICY,
    )  # fmt: skip
    assert str(decline["Subject"]) == "482913 é o seu código para recusar Aditivo"
    assert "para recusar" in _part(decline, "plain") and "para assinar" not in _part(decline, "plain")


def test_greeting_names_the_contact_person_without_a_double_period(templates: EmailTemplates) -> None:
    msg = message_from_bytes(_invite(templates, signer_name="Ana S."), policy=SMTP_POLICY)
    assert _part(msg, "plain").startswith("Olá, Ana S,\r\n") and ".." not in _part(msg, "plain")
    assert "Olá, Ana S," in _part(msg, "html")


def test_messages_follow_the_readers_language_and_give_the_company_contact(templates: EmailTemplates) -> None:
    reader = Reader(translator("es", "America/Sao_Paulo"), "Lucía", "contratos@acme.com.br · +55 11 3333-4444")
    msg = message_from_bytes(_invite(templates, reader=reader), policy=SMTP_POLICY)
    text, html = _part(msg, "plain"), _part(msg, "html")
    assert text.startswith("Hola, Lucía:") and "15/03/2031 18:00 (UTC-03:00)" in text
    assert "¿Dudas? Contacte a Açúcar &amp; Companhia: contratos@acme.com.br · +55 11 3333-4444." in html
    assert "contratos@acme.com.br" in text and '<html lang="es">' in html


def test_final_copy_attaches_the_pdf_or_links_to_it(templates: EmailTemplates) -> None:
    reader = Reader(translator(), "Maria")
    values: dict[str, object] = {
        "from_addr": FROM, "to": "maria@example.com", "message_id": "<final@esign.local>", "company_name": "ACME",
        "document_title": "Contrato", "document_id": "DOC-1", "reader": reader, "link": "https://x.example/s/t",
        "verify_url": "https://x.example/verify/DOC-1",
    }  # fmt: skip
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 8
    attached = message_from_bytes(build_final_copy(templates, pdf=pdf, **values), policy=SMTP_POLICY)  # type: ignore[arg-type]
    assert attached.get_content_type() == "multipart/mixed"
    assert str(attached["Subject"]) == "Assinado por todas as partes: Contrato"
    files = [p for p in attached.iter_attachments()]  # type: ignore[attr-defined]
    assert len(files) == 1 and files[0].get_filename() == "DOC-1.pdf" and files[0].get_content() == pdf
    assert "segue anexa" in _part(attached, "plain") and "https://x.example/s/t" not in _part(attached, "plain")
    linked = message_from_bytes(build_final_copy(templates, pdf=None, **values), policy=SMTP_POLICY)  # type: ignore[arg-type]
    assert linked.get_content_type() == "multipart/alternative"
    assert "https://x.example/s/t" in _part(linked, "plain") and "Baixar o documento assinado" in _part(linked, "html")


@pytest.mark.parametrize("link", ["javascript:alert(1)", "ftp://x/y", "https://x.example/a b"])
def test_a_link_that_is_not_http_is_refused(templates: EmailTemplates, link: str) -> None:
    with pytest.raises(DispatchError, match="signing link"):
        _invite(templates, link=link)


def test_bad_message_id_and_header_injection_are_refused(templates: EmailTemplates) -> None:
    with pytest.raises(DispatchError, match="Message-ID"):
        _invite(templates, message_id="no-brackets@esign.local")
    with pytest.raises(DispatchError, match="bad header"):
        _invite(templates, to="a@example.com\r\nBcc: victim@example.com")


def test_names_and_long_subjects_are_encoded_and_folded_for_any_relay(templates: EmailTemplates) -> None:
    title = "Contrato de prestação de serviços de manutenção preventiva e corretiva nº 2026/000123 — anexo III"
    raw = _invite(templates, to="José da Silva <jose@example.com>", document_title=title)
    assert raw.isascii() and max(len(line) for line in raw.split(b"\r\n")) <= 78
    msg = message_from_bytes(raw, policy=SMTP_POLICY)
    assert msg["To"] == "José da Silva <jose@example.com>"
    assert str(msg["Subject"]) == f"Açúcar & Companhia: documento para assinatura — {title}"
    assert [part.get_content_type() for part in msg.iter_parts()] == ["text/plain", "text/html"]  # type: ignore[attr-defined]
    assert all(part["MIME-Version"] is None for part in msg.iter_parts())  # type: ignore[attr-defined]
    assert not msg.defects and not any(part.defects for part in msg.walk())


@pytest.mark.parametrize("field", ["to", "from_addr", "document_id"])
def test_a_line_break_or_nul_in_any_header_is_refused(templates: EmailTemplates, field: str) -> None:
    for bad in ("a@example.com\nBcc: victim@example.com", "a@example.com\x00"):
        with pytest.raises(DispatchError, match=r"bad header value \(\w[\w-]* contains a line break or NUL\)"):
            _invite(templates, **{field: bad})


def test_a_title_with_a_newline_stays_one_subject_line(templates: EmailTemplates) -> None:
    msg = message_from_bytes(_invite(templates, document_title="Linha 1\r\nBcc: x@example.com"), policy=SMTP_POLICY)
    assert msg["Bcc"] is None
    assert "Linha 1 Bcc: x@example.com" in str(msg["Subject"])


def test_template_problems_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        EmailTemplates(tmp_path / "nowhere")
    (tmp_path / "invite.subject.txt").write_text("{{ company_name }}", encoding="utf-8")
    (tmp_path / "invite.txt").write_text("{{ no_such_value }}", encoding="utf-8")
    broken = EmailTemplates(tmp_path)
    with pytest.raises(ConfigError, match=r"invite\.txt.*no_such_value"):
        _invite(broken)
    (tmp_path / "invite.txt").write_text("ok", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"invite\.html: missing"):
        _invite(broken)


def test_replace_message_id_changes_only_that_header(templates: EmailTemplates) -> None:
    raw = _invite(templates)
    new = replace_message_id(raw, "<other@esign.local>")
    assert message_from_bytes(new, policy=SMTP_POLICY)["Message-ID"] == "<other@esign.local>"
    assert new.replace(b"<other@esign.local>", b"<fixed-1@esign.local>") == raw
    with pytest.raises(DispatchError, match="no Message-ID"):
        replace_message_id(b"Subject: x\r\n\r\nbody\r\n", "<a@b>")
    with pytest.raises(DispatchError, match="Message-ID must"):
        replace_message_id(raw, "bad")


def test_smtp_settings_from_env() -> None:
    default = SmtpSettings.from_env({})
    assert (default.host, default.port, default.starttls, default.ssl) == ("127.0.0.1", 8025, False, False)
    env = {
        "ESIGN_SMTP_HOST": "smtp.example.com", "ESIGN_SMTP_PORT": "587", "ESIGN_SMTP_USER": "robot",
        "ESIGN_SMTP_PASSWORD": "s3cret-pw", "ESIGN_SMTP_STARTTLS": "true", "ESIGN_SMTP_SSL": "no",
        "ESIGN_SMTP_FROM": "Contratos <contratos@example.com>", "ESIGN_SMTP_TIMEOUT": "12.5",
    }  # fmt: skip
    settings = SmtpSettings.from_env(env)
    assert settings.port == 587 and settings.starttls and not settings.ssl and settings.timeout == 12.5
    assert settings.envelope_from == "contratos@example.com"
    assert "s3cret-pw" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ESIGN_SMTP_PORT": "smtp"}, "ESIGN_SMTP_PORT"),
        ({"ESIGN_SMTP_PORT": "70000"}, "ESIGN_SMTP_PORT"),
        ({"ESIGN_SMTP_SSL": "maybe"}, "ESIGN_SMTP_SSL"),
        ({"ESIGN_SMTP_SSL": "1", "ESIGN_SMTP_STARTTLS": "1"}, "choose one"),
        ({"ESIGN_SMTP_PASSWORD": "x"}, "ESIGN_SMTP_USER"),
        ({"ESIGN_SMTP_FROM": "nobody"}, "ESIGN_SMTP_FROM"),
        ({"ESIGN_SMTP_TIMEOUT": "soon"}, "ESIGN_SMTP_TIMEOUT"),
    ],
)
def test_smtp_settings_errors_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SmtpSettings.from_env(env)


def test_send_an_invite_and_read_it_back(
    templates: EmailTemplates, mail_server: LocalMailServer, smtp_settings: SmtpSettings
) -> None:
    link = "https://sign.example.com/s/R1?t=a&b=1"
    raw = _invite(templates, link=link)
    with SmtpSender(smtp_settings) as sender:
        reply = sender.send_raw("maria@example.com", raw)
    assert "Ok" in reply
    [received] = read_messages(mail_server.maildir)
    assert received.raw == raw, "the .eml keeps the exact bytes"
    assert received.links == [link]
    assert "Conceição" in received.text and "&amp;" in received.html


def test_lines_starting_with_a_dot_survive_the_trip(mail_server: LocalMailServer, smtp_settings: SmtpSettings) -> None:
    raw = b"Subject: dots\r\nMessage-ID: <d@esign.local>\r\n\r\n.hidden\r\n..two\r\n.\r\nend"
    with SmtpSender(smtp_settings) as sender:
        sender.send_raw("a@example.com", raw)
    [received] = read_messages(mail_server.maildir)
    assert received.raw == raw + b"\r\n"


def test_login_on_a_server_without_auth_is_a_config_error(mail_server: LocalMailServer) -> None:
    settings = SmtpSettings(port=mail_server.port, username="robot", password="s3cret-pw", timeout=5)
    with SmtpSender(settings) as sender, pytest.raises(ConfigError) as caught:
        sender.send_raw("a@example.com", b"Subject: x\r\n\r\nx\r\n")
    assert "s3cret-pw" not in str(caught.value)
    assert read_messages(mail_server.maildir) == []
