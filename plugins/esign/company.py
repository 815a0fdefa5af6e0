"""The issuing company's profile (legal data and the director who signs for it), from a YAML file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from esign.errors import ConfigError
from esign.i18n import DEFAULT_LOCALE, DEFAULT_TIMEZONE, Translator, translator
from esign.model import Party

_REQUIRED = ("name", "tax_id", "address", "representative", "representative_title")


@dataclass(frozen=True, slots=True)
class CompanyProfile:
    party: Party
    location: str
    language: str = DEFAULT_LOCALE  # what its staff and, unless a deal says otherwise, its clients read
    timezone: str = DEFAULT_TIMEZONE  # every date a person reads is shown in this zone
    final_copy_to: str = ""  # an address (the sales managers' mailbox) that gets every final signed copy too

    @property
    def director_name(self) -> str:
        return self.party.representative

    @property
    def director_title(self) -> str:
        return self.party.representative_title

    def translator(self, language: str | None = None) -> Translator:
        """Text and formats for a reader: ``language`` (a client's, when the deal carries one) or the company's."""
        return translator(language or self.language, self.timezone)


def load_company(path: Path) -> CompanyProfile:
    """Read and check the company file; every problem names the file and the key."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"company file {path}: cannot read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"company file {path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"company file {path}: expected a mapping of keys to values")
    for key in _REQUIRED:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"company file {path}: '{key}' is missing or empty")
    party = Party(
        name=data["name"].strip(),
        tax_id=data["tax_id"].strip(),
        address=data["address"].strip(),
        representative=data["representative"].strip(),
        representative_title=data["representative_title"].strip(),
        email=str(data.get("email") or ""),
        phone=str(data.get("phone") or ""),
    )
    language = str(data.get("language") or DEFAULT_LOCALE)
    timezone = str(data.get("timezone") or DEFAULT_TIMEZONE)
    try:
        translator(language, timezone)
    except ConfigError as exc:
        raise ConfigError(f"company file {path}: 'timezone': {exc}") from exc
    copy_to = str(data.get("final_copy_to") or "").strip()
    if copy_to and ("@" not in copy_to or any(c.isspace() for c in copy_to)):
        raise ConfigError(f"company file {path}: 'final_copy_to': not an e-mail address ({copy_to!r})")
    return CompanyProfile(party=party, location=str(data.get("location") or ""), language=language,
                          timezone=timezone, final_copy_to=copy_to)
