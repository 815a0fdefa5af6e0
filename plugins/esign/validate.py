"""Deal validation with field-named reasons, and text sanitising.

Why collect every problem instead of stopping at the first: a quarantined deal is fixed by a person
in the CRM, and one round trip per problem wastes their day. Emoji and right-to-left text are NOT
problems: the renderer draws what the font has and a box for what it lacks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from esign import contacts
from esign.contacts import Problem, normalize_email, normalize_phone
from esign.errors import ValidationError
from esign.i18n import N_
from esign.model import Deal, LineItem, Party, SignerRole, SignerSpec, SigningOrder
from esign.model.signers import arrange

# Why a value is refused: message ids (English), translated where a person reads them (``ValidationError.describe``).
MISSING = N_("missing")
NOT_TEXT = N_("must be text, got %(type)s")
TOO_LONG = N_("longer than %(max)s characters (%(length)s)")
NOT_A_NUMBER = N_("not a number")
NOT_POSITIVE = N_("must be positive")
NEGATIVE = N_("must not be negative")
LARGER_THAN = N_("larger than %(max)s")
LINE_TOTAL_TOO_LARGE = N_("the line total is larger than %(max)s")
NOT_ISO_4217 = N_("not an ISO 4217 code: %(code)s")
CPF_DIGITS = N_("invalid CPF check digits")
CNPJ_FORMAT = N_("invalid CNPJ format")
CNPJ_DIGITS = N_("invalid CNPJ check digits")
TAX_ID_LENGTH = N_("must be a CPF (11 digits) or a CNPJ (14 characters), got %(length)s characters")
NO_CONTACT = N_("missing (an email or a phone is required to reach the client)")
NO_SIGNER_CONTACT = N_("missing (an email or a phone is required to reach this person)")
NOT_A_CPF = N_("not a valid CPF")
SAME_AS_SIGNER = N_("the same as signer %(other)s's")
UNKNOWN_ROLE = N_("not a signing role (signer, witness or copy): %(value)s")

# Field length limits (characters, after sanitising).
MAX_NAME = 200
MAX_ADDRESS = 500
MAX_TITLE = 300
MAX_FREE_TEXT = 2_000
MAX_EMAIL = contacts.MAX_EMAIL
MAX_ID = 100
#: Money and quantity bounds: beyond them the renderer's decimal arithmetic (28 digits) cannot show cents.
MAX_MONEY = Decimal("1e12")
MAX_QUANTITY = Decimal("1e9")

# ISO 4217 active alphabetic codes (funds codes and precious metals left out on purpose).
_ISO_4217_WORDS = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD
CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD
GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT
LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR
NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD
SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF
XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL
"""
ISO_4217 = frozenset(_ISO_4217_WORDS.split())

_TAX_ID_PUNCT = re.compile(r"[.\-/\s]")
_CNPJ_SHAPE = re.compile(r"[0-9A-Z]{12}[0-9]{2}")  # alphanumeric CNPJ (from July 2026) included
_CPF_SHAPE = re.compile(r"[0-9]{11}")


def sanitize_text(s: str) -> str:
    """Drop control characters (keeping newline and tab) and lone surrogates, then normalise to NFC.

    Control characters corrupt PDF text and logs; NFC makes "ã" one code point however the CRM sent it.
    Format characters (zero-width joiners in emoji, right-to-left marks) are kept: they are text.
    """
    kept = [
        ch for ch in s
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")
    ]
    return unicodedata.normalize("NFC", "".join(kept))


def tax_id_digits(tax_id: str) -> str:
    """The tax ID without punctuation, upper-cased (alphanumeric CNPJs use letters)."""
    return _TAX_ID_PUNCT.sub("", tax_id).upper()


def _mod11_digit(values: list[int], first_weight: int) -> int:
    total = sum(v * w for v, w in zip(values, range(first_weight, 1, -1), strict=False))
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


def is_valid_cpf(tax_id: str) -> bool:
    """Real CPF check-digit validation (11 digits, not all equal)."""
    digits = tax_id_digits(tax_id)
    if not _CPF_SHAPE.fullmatch(digits) or len(set(digits)) == 1:
        return False
    values = [int(c) for c in digits]
    return _mod11_digit(values[:9], 10) == values[9] and _mod11_digit(values[:10], 11) == values[10]


def _cnpj_weights(n: int) -> list[int]:
    # weights 5,4,3,2,9,8,...,2 (12 positions) and 6,5,4,3,2,9,...,2 (13 positions)
    start = n - 7
    return [*range(start, 1, -1), *range(9, 1, -1)]


def is_valid_cnpj(tax_id: str) -> bool:
    """Real CNPJ check-digit validation, numeric or the new alphanumeric form (value = ASCII - 48)."""
    chars = tax_id_digits(tax_id)
    if not _CNPJ_SHAPE.fullmatch(chars) or len(set(chars)) == 1:
        return False
    values = [ord(c) - 48 for c in chars]
    for n in (12, 13):
        total = sum(v * w for v, w in zip(values[:n], _cnpj_weights(n), strict=True))
        rest = total % 11
        if (0 if rest < 2 else 11 - rest) != values[n]:
            return False
    return True


def tax_problem(tax_id: str) -> Problem | None:
    """None when the tax ID is a valid CPF or CNPJ, else why not."""
    chars = tax_id_digits(tax_id)
    if not chars:
        return Problem(MISSING)
    if len(chars) == 11:
        return None if is_valid_cpf(chars) else Problem(CPF_DIGITS)
    if len(chars) == 14:
        if not _CNPJ_SHAPE.fullmatch(chars):
            return Problem(CNPJ_FORMAT)
        return None if is_valid_cnpj(chars) else Problem(CNPJ_DIGITS)
    return Problem(TAX_ID_LENGTH, {"length": len(chars)})


def tax_id_problem(tax_id: str) -> str | None:
    """None when the tax ID is a valid CPF or CNPJ, else the reason (English)."""
    problem = tax_problem(tax_id)
    return str(problem) if problem is not None else None


def email_problem(email: str) -> str | None:
    """None when the address has a plausible format (no DNS lookups, on purpose), else the reason (English)."""
    problem = contacts.email_problem(email)
    return str(problem) if problem is not None else None


def phone_problem(phone: str) -> str | None:
    """None when an SMS can reach the number (national Brazilian formats accepted), else the reason (English)."""
    problem = contacts.phone_problem(phone)
    return str(problem) if problem is not None else None


def _error(field: str, problem: Problem) -> ValidationError:
    return ValidationError(field, problem.msgid, problem.params)


def _text_problems(field: str, value: object, limit: int, *, required: bool) -> list[ValidationError]:
    if not isinstance(value, str):
        return [ValidationError(field, NOT_TEXT, {"type": type(value).__name__})]
    clean = sanitize_text(value).strip()
    if required and not clean:
        return [ValidationError(field, MISSING)]
    if len(clean) > limit:
        return [ValidationError(field, TOO_LONG, {"max": limit, "length": len(clean)})]
    return []


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def validate_party(party: Party, prefix: str, *, need_contact: bool = True) -> list[ValidationError]:
    """Every problem of one party that stops its document; fields are named ``<prefix>.<field>``.

    A contact that cannot be used while the other can is not one of them (see :func:`party_warnings`): the
    client is reached by the other channel.
    """
    errors: list[ValidationError] = []
    errors += _text_problems(f"{prefix}.name", party.name, MAX_NAME, required=True)
    if not isinstance(party.tax_id, str) or not party.tax_id.strip():
        errors.append(ValidationError(f"{prefix}.tax_id", MISSING))
    elif (problem := tax_problem(party.tax_id)) is not None:
        errors.append(_error(f"{prefix}.tax_id", problem))
    errors += _text_problems(f"{prefix}.address", party.address, MAX_ADDRESS, required=False)
    errors += _text_problems(f"{prefix}.representative", party.representative, MAX_NAME, required=False)
    errors += _text_problems(f"{prefix}.representative_title", party.representative_title, MAX_NAME,
                             required=False)
    email, phone, problems = _contact_problems(party, prefix)
    if not email and not phone:
        if need_contact:
            errors.append(ValidationError(f"{prefix}.email", NO_CONTACT))
    elif len(problems) == int(bool(email)) + int(bool(phone)):  # nothing given is usable
        errors += problems
    return errors


def party_warnings(party: Party, prefix: str) -> list[ValidationError]:
    """The given contact that cannot be used when the other one can: noted on the document, not quarantined."""
    email, phone, problems = _contact_problems(party, prefix)
    usable = int(bool(email)) + int(bool(phone)) - len(problems)
    return problems if usable > 0 else []


def _contact_problems(party: Party, prefix: str) -> tuple[str, str, list[ValidationError]]:
    email = party.email.strip() if isinstance(party.email, str) else ""
    phone = party.phone.strip() if isinstance(party.phone, str) else ""
    problems: list[ValidationError] = []
    if email and (problem := contacts.email_problem(email)) is not None:
        problems.append(_error(f"{prefix}.email", problem))
    if phone and (problem := contacts.phone_problem(phone)) is not None:
        problems.append(_error(f"{prefix}.phone", problem))
    return email, phone, problems


def _line_item_problems(index: int, item: LineItem) -> list[ValidationError]:
    field = f"line_items[{index}]"
    errors = _text_problems(f"{field}.description", item.description, MAX_FREE_TEXT, required=True)
    quantity = _decimal(item.quantity)
    if quantity is None:
        errors.append(ValidationError(f"{field}.quantity", NOT_A_NUMBER))
    elif quantity <= 0:
        errors.append(ValidationError(f"{field}.quantity", NOT_POSITIVE))
    elif quantity > MAX_QUANTITY:
        errors.append(ValidationError(f"{field}.quantity", LARGER_THAN, {"max": MAX_QUANTITY}))
    price = _decimal(item.unit_price)
    if price is None:
        errors.append(ValidationError(f"{field}.unit_price", NOT_A_NUMBER))
    elif price < 0:
        errors.append(ValidationError(f"{field}.unit_price", NEGATIVE))
    elif price > MAX_MONEY:
        errors.append(ValidationError(f"{field}.unit_price", LARGER_THAN, {"max": MAX_MONEY}))
    elif quantity is not None and 0 < quantity <= MAX_QUANTITY and quantity * price > MAX_MONEY:
        errors.append(ValidationError(f"{field}.unit_price", LINE_TOTAL_TOO_LARGE, {"max": MAX_MONEY}))
    return errors


def _signer_field(signer: SignerSpec, index: int) -> str:
    return f"signers[{signer.position if signer.position > 0 else index + 1}]"


def validate_signers(signers: Sequence[SignerSpec]) -> list[ValidationError]:
    """Every problem of a document's signers, fields named by position: ``signers[2].tax_id: not a valid CPF``.

    Everyone (signers, witnesses, copy recipients) needs a name and a usable e-mail or phone (a given one that
    cannot be used while the other can is not an error: the person is reached by the other channel); a witness needs
    a valid CPF (printed under their block), anyone else's CPF, when given, must be valid. Two signing persons
    (copies aside) sharing an e-mail or a phone cannot be told apart by their links and codes: the later one's
    field is an error naming the earlier one's position.
    """
    errors: list[ValidationError] = []
    seen_email: dict[str, int] = {}
    seen_phone: dict[str, int] = {}
    for index, signer in enumerate(signers):
        field = _signer_field(signer, index)
        position = signer.position if signer.position > 0 else index + 1
        errors += _text_problems(f"{field}.name", signer.name, MAX_NAME, required=True)
        tax_id = signer.tax_id.strip() if isinstance(signer.tax_id, str) else ""
        if signer.role is SignerRole.WITNESS and not tax_id:
            errors.append(ValidationError(f"{field}.tax_id", MISSING))
        elif tax_id and not is_valid_cpf(tax_id):
            errors.append(ValidationError(f"{field}.tax_id", NOT_A_CPF))
        party = Party(name="", tax_id="", email=signer.email, phone=signer.phone)
        email, phone, problems = _contact_problems(party, field)
        if not email and not phone:
            errors.append(ValidationError(f"{field}.email", NO_SIGNER_CONTACT))
        elif len(problems) == int(bool(email)) + int(bool(phone)):
            errors += problems
        if not signer.signs:
            continue
        for value, seen, name in ((normalize_email(email) if email else None, seen_email, "email"),
                                  (normalize_phone(phone) if phone else None, seen_phone, "phone")):
            if not value:
                continue
            key = value.lower()
            if key in seen:
                errors.append(ValidationError(f"{field}.{name}", SAME_AS_SIGNER, {"other": seen[key]}))
            else:
                seen[key] = position
    return errors


def signer_warnings(signers: Sequence[SignerSpec]) -> list[ValidationError]:
    """A signer's given contact that cannot be used while the other can: noted on the document, not quarantined."""
    warnings: list[ValidationError] = []
    for index, signer in enumerate(signers):
        party = Party(name="", tax_id="", email=signer.email, phone=signer.phone)
        warnings += party_warnings(party, _signer_field(signer, index))
    return warnings


def validate_deal(deal: Deal, *, signers: Sequence[SignerSpec] | None = None) -> list[ValidationError]:
    """All problems of a deal (empty list: usable). Never raises for bad data.

    ``signers``: the document's signers as arranged (positions, a second company signer); by default the deal's own,
    arranged sequentially, so the positions named are the ones its document would give them.
    """
    errors: list[ValidationError] = []
    errors += _text_problems("id", deal.id, MAX_ID, required=True)
    errors += _text_problems("title", deal.title, MAX_TITLE, required=True)
    amount = _decimal(deal.amount)
    if amount is None:
        errors.append(ValidationError("amount", NOT_A_NUMBER))
    elif amount < 0:
        errors.append(ValidationError("amount", NEGATIVE))
    elif amount > MAX_MONEY:
        errors.append(ValidationError("amount", LARGER_THAN, {"max": MAX_MONEY}))
    currency = deal.currency if isinstance(deal.currency, str) else ""
    if not currency.strip():
        errors.append(ValidationError("currency", MISSING))
    elif currency not in ISO_4217:
        errors.append(ValidationError("currency", NOT_ISO_4217, {"code": repr(currency[:10])}))
    if not isinstance(deal.counterparty, Party):
        errors.append(ValidationError("counterparty", MISSING))
    else:
        errors += validate_party(deal.counterparty, "counterparty")
    for index, item in enumerate(deal.line_items):
        errors += _line_item_problems(index, item)
    for key, value in deal.extra.items():
        errors += _text_problems(f"extra.{key}", value, MAX_FREE_TEXT, required=False)
    if signers is None:
        signers = arrange(deal.signers, SigningOrder.SEQUENTIAL) if deal.signers else ()
    signer_errors = validate_signers(signers)
    first = next((s for s in signers if s.position == 1), None)
    if isinstance(deal.counterparty, Party) and first is not None and \
            (first.email, first.phone) == (deal.counterparty.email, deal.counterparty.phone):
        # signer 1 is the counterparty's contact, whose e-mail and phone were checked above: said once is enough
        signer_errors = [e for e in signer_errors if e.field not in ("signers[1].email", "signers[1].phone")
                         or e.msgid == SAME_AS_SIGNER]
    return errors + signer_errors


def deal_warnings(deal: Deal, *, signers: Sequence[SignerSpec] | None = None) -> list[ValidationError]:
    """What does not stop the deal but a person should know (a contact that cannot be used, the other can)."""
    warnings = party_warnings(deal.counterparty, "counterparty") if isinstance(deal.counterparty, Party) else []
    if signers is None:
        signers = arrange(deal.signers, SigningOrder.SEQUENTIAL) if deal.signers else ()
    # signer 1 is the counterparty's contact: its warning is already there
    return warnings + [w for w in signer_warnings(signers) if not w.field.startswith("signers[1].")]
