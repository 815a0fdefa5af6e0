"""What the demo's clients receive: the local SMTP server's .eml files and the SMS outbox file."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from esign.dispatch.mailserver import read_messages

_CODE = re.compile(r"\b(\d{6})\b")
_LINK = re.compile(r"https?://\S+/s/[A-Za-z0-9_\-]+")


@dataclass(frozen=True, slots=True)
class Inbox:
    maildir: Path
    sms_file: Path

    def texts_for(self, destination: str) -> list[str]:
        """Every message body sent to ``destination`` (email address or phone), oldest first."""
        texts = [m.text for m in read_messages(self.maildir) if destination.lower() in m.header("To").lower()]
        if self.sms_file.exists():
            for line in self.sms_file.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                if record.get("to") == destination:
                    texts.append(str(record.get("text", "")))
        return texts

    def text_of(self, message_id: str) -> str | None:
        """The body of the message with this Message-ID (email) or reference (SMS)."""
        for message in read_messages(self.maildir):
            if message.header("Message-ID") == message_id:
                return message.text
        if self.sms_file.exists():
            for line in self.sms_file.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                if record.get("reference") == message_id:
                    return str(record.get("text", ""))
        return None

    def signing_link(self, message_id: str) -> str | None:
        """The link in the invitation with this Message-ID (several deals may share one contact)."""
        text = self.text_of(message_id)
        match = _LINK.search(text) if text else None
        return match.group(0).rstrip(".,)") if match else None

    def latest_code(self, destination: str) -> str | None:
        codes = [m.group(1) for t in self.texts_for(destination) if "codigo" in _folded(t)  # SMS are GSM-7
                 for m in [_CODE.search(t)] if m]
        return codes[-1] if codes else None


def _folded(text: str) -> str:
    """Lower case without accents: an SMS says "codigo" (GSM-7), an e-mail "código"."""
    return unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode("ascii")
