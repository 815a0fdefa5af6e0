"""The issuing company's profile (legal data and the director who signs for it), from a YAML file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from esign.contacts import normalize_email, normalize_phone
from esign.errors import ConfigError
from esign.i18n import DEFAULT_LOCALE, DEFAULT_TIMEZONE, Translator, translator
from esign.model import Party, SignerRole, SignerSide, SignerSpec
from esign.validate import is_valid_cpf

_REQUIRED = ("name", "tax_id", "address", "representative", "representative_title")


@dataclass(frozen=True, slots=True)
class CompanyProfile:
    party: Party
    location: str
    language: str = DEFAULT_LOCALE  # what its staff and, unless a deal says otherwise, its clients read
    timezone: str = DEFAULT_TIMEZONE  # every date a person reads is shown in this zone
    final_copy_to: str = ""  # an address (the sales managers' mailbox) that gets every final signed copy too
    #: A second person signing for the company on every new document (invited like a client signer, block
    #: ``company_2``); None: the director alone signs for it.
    second_signer: SignerSpec | None = None

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
                          timezone=timezone, final_copy_to=copy_to,
                          second_signer=_second_signer(data.get("second_signer"), path))


def _second_signer(raw: object, path: Path) -> SignerSpec | None:
    """``second_signer: {name, email, phone, tax_id}``: a name, a usable e-mail or phone, a valid CPF when given."""
    if raw is None or raw == {}:
        return None
    where = f"company file {path}: 'second_signer'"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with name, email, phone and tax_id")
    if unknown := sorted(set(raw) - {"name", "email", "phone", "tax_id"}):
        raise ConfigError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}")
    values = {key: str(raw.get(key) or "").strip() for key in ("name", "email", "phone", "tax_id")}
    if not values["name"]:
        raise ConfigError(f"{where}.name: missing")
    email = normalize_email(values["email"]) if values["email"] else ""
    phone = normalize_phone(values["phone"]) if values["phone"] else ""
    if values["email"] and email is None:
        raise ConfigError(f"{where}.email: not an e-mail address ({values['email']!r})")
    if values["phone"] and phone is None:
        raise ConfigError(f"{where}.phone: not a valid phone number ({values['phone']!r})")
    if not email and not phone:
        raise ConfigError(f"{where}: an email or a phone is required to reach the second signer")
    if values["tax_id"] and not is_valid_cpf(values["tax_id"]):
        raise ConfigError(f"{where}.tax_id: not a valid CPF ({values['tax_id']!r})")
    return SignerSpec(position=0, role=SignerRole.SIGNER, name=values["name"], tax_id=values["tax_id"],
                      email=email or "", phone=phone or "", side=SignerSide.COMPANY)
