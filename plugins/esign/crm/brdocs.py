"""Brazilian document numbers (CPF, CNPJ): check digits and formatting, for generating demo data.

Validation for the pipeline lives in :mod:`esign.validate`; this module only *makes* numbers, so the
demo data is valid by construction and the tests can cross-check it against the validator.
"""

from __future__ import annotations

import random

_CNPJ_WEIGHTS_1 = (5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)
_CNPJ_WEIGHTS_2 = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)


def _mod11(values: list[int], weights: tuple[int, ...] | range) -> int:
    rest = sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    return 0 if rest < 2 else 11 - rest


def cpf_check_digits(base9: str) -> str:
    """The two check digits of a CPF whose first nine digits are ``base9``."""
    if len(base9) != 9 or not base9.isdigit():
        raise ValueError(f"a CPF base has 9 digits, got {base9!r}")
    values = [int(c) for c in base9]
    first = _mod11(values, range(10, 1, -1))
    second = _mod11([*values, first], range(11, 1, -1))
    return f"{first}{second}"


def cnpj_check_digits(base12: str) -> str:
    """The two check digits of a numeric CNPJ whose first twelve digits are ``base12``."""
    if len(base12) != 12 or not base12.isdigit():
        raise ValueError(f"a CNPJ base has 12 digits, got {base12!r}")
    values = [int(c) for c in base12]
    first = _mod11(values, _CNPJ_WEIGHTS_1)
    second = _mod11([*values, first], _CNPJ_WEIGHTS_2)
    return f"{first}{second}"


def format_cpf(digits: str) -> str:
    """``12345678909`` -> ``123.456.789-09``."""
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"


def format_cnpj(digits: str) -> str:
    """``11222333000181`` -> ``11.222.333/0001-81``."""
    return f"{digits[:2]}.{digits[2:5]}.{digits[5:8]}/{digits[8:12]}-{digits[12:]}"


def random_cpf(rng: random.Random) -> str:
    """A valid CPF (digits only); never all-equal digits, which the Receita rejects."""
    while True:
        base = "".join(str(rng.randrange(10)) for _ in range(9))
        if len(set(base)) > 1:
            return base + cpf_check_digits(base)


def random_cnpj(rng: random.Random, branch: int = 1) -> str:
    """A valid numeric CNPJ (digits only) of the given branch (``0001`` is the head office)."""
    while True:
        root = "".join(str(rng.randrange(10)) for _ in range(8))
        if len(set(root)) > 1:
            base = f"{root}{branch:04d}"
            return base + cnpj_check_digits(base)
