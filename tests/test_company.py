"""The company profile's optional second signer: read, normalised and checked, every problem naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from esign.company import load_company
from esign.errors import ConfigError
from esign.model import SignerRole, SignerSide
from tests.support import PROJECT_DIR

SHIPPED = (PROJECT_DIR / "config" / "company.yaml").read_text(encoding="utf-8")


def _company(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "company.yaml"
    path.write_text(SHIPPED + extra, encoding="utf-8")
    return path


def test_the_shipped_company_has_no_second_signer() -> None:
    assert load_company(PROJECT_DIR / "config" / "company.yaml").second_signer is None


def test_a_second_signer_signs_for_the_company(tmp_path: Path) -> None:
    path = _company(tmp_path, 'second_signer:\n  name: " Rafael Prado "\n  email: Rafael@Aurora.EXAMPLE\n'
                               '  phone: "(11) 98888-7777"\n  tax_id: "529.982.247-25"\n')
    second = load_company(path).second_signer
    assert second is not None
    assert (second.name, second.email, second.phone, second.tax_id) == (
        "Rafael Prado", "Rafael@aurora.example", "+5511988887777", "529.982.247-25")
    assert second.role is SignerRole.SIGNER and second.side is SignerSide.COMPANY


@pytest.mark.parametrize(("extra", "message"), [
    ("second_signer: Rafael\n", "'second_signer': expected a mapping"),
    ("second_signer:\n  email: r@aurora.example\n", "'second_signer'.name: missing"),
    ("second_signer:\n  name: R\n", "'second_signer': an email or a phone is required"),
    ("second_signer:\n  name: R\n  email: r@\n", "'second_signer'.email: not an e-mail address"),
    ("second_signer:\n  name: R\n  phone: '12345'\n", "'second_signer'.phone: not a valid phone number"),
    ("second_signer:\n  name: R\n  email: r@a.example\n  tax_id: '123'\n", "'second_signer'.tax_id: not a valid CPF"),
    ("second_signer:\n  name: R\n  email: r@a.example\n  cpf: '123'\n", "'second_signer': unknown key(s) cpf"),
])
def test_a_bad_second_signer_names_the_key(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"company file .*") as info:
        load_company(_company(tmp_path, extra))
    assert message in str(info.value)
