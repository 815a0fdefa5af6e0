from __future__ import annotations

import random

import pytest

from esign.crm.brdocs import (
    cnpj_check_digits,
    cpf_check_digits,
    format_cnpj,
    format_cpf,
    random_cnpj,
    random_cpf,
)
from esign.validate import is_valid_cnpj, is_valid_cpf


def test_known_check_digits() -> None:
    assert cnpj_check_digits("112223330001") == "81"  # 11.222.333/0001-81
    assert cnpj_check_digits("114447770001") == "61"  # 11.444.777/0001-61
    assert cpf_check_digits("529982247") == "25"  # 529.982.247-25
    assert cpf_check_digits("111444777") == "35"  # 111.444.777-35


def test_formatting() -> None:
    assert format_cnpj("11222333000181") == "11.222.333/0001-81"
    assert format_cpf("52998224725") == "529.982.247-25"


@pytest.mark.parametrize("bad", ["", "12345678", "1122233300018", "11222333000a"])
def test_cnpj_base_must_be_twelve_digits(bad: str) -> None:
    with pytest.raises(ValueError, match="12 digits"):
        cnpj_check_digits(bad)


@pytest.mark.parametrize("bad", ["", "12345678", "1234567890", "12345678x"])
def test_cpf_base_must_be_nine_digits(bad: str) -> None:
    with pytest.raises(ValueError, match="9 digits"):
        cpf_check_digits(bad)


def test_random_numbers_pass_the_independent_validator() -> None:
    rng = random.Random(1)
    for _ in range(2000):
        cnpj = random_cnpj(rng)
        cpf = random_cpf(rng)
        assert len(cnpj) == 14 and cnpj[8:12] == "0001" and is_valid_cnpj(cnpj), cnpj
        assert len(cpf) == 11 and is_valid_cpf(cpf), cpf
        assert is_valid_cnpj(format_cnpj(cnpj)) and is_valid_cpf(format_cpf(cpf))
    assert is_valid_cnpj(random_cnpj(rng, branch=23))


def test_a_wrong_digit_is_caught_by_the_validator() -> None:
    """Guards the cross-check itself: the validator does reject what we did not compute right."""
    cnpj = random_cnpj(random.Random(3))
    wrong = cnpj[:-1] + str((int(cnpj[-1]) + 1) % 10)
    assert not is_valid_cnpj(wrong)
