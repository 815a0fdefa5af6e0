"""The issuing company's profile (legal data and the director who signs for it), from a YAML file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from esign.errors import ConfigError
from esign.model import Party

_REQUIRED = ("name", "tax_id", "address", "representative", "representative_title")


@dataclass(frozen=True, slots=True)
class CompanyProfile:
    party: Party
    location: str

    @property
    def director_name(self) -> str:
        return self.party.representative

    @property
    def director_title(self) -> str:
        return self.party.representative_title


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
    return CompanyProfile(party=party, location=str(data.get("location") or ""))
