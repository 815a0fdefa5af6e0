"""Turn raw CRM records (strings or None, as Bitrix24's legacy REST sends them) into a :class:`FetchedDeal`.

Shared by every connector so "bad data never raises" holds the same way everywhere: a value that cannot
be read becomes a neutral stand-in plus a ``problems`` entry naming the field and quoting the raw value.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from esign.crm.base import FetchedDeal
from esign.model import Deal, LineItem, Manager, Party, SignerRole, SignerSpec
from esign.validate import UNKNOWN_ROLE

_QUOTE_LIMIT = 40  # raw values quoted in problems are cut: they end up in comments and logs
#: Bitrix24 stores money as DECIMAL(18,2); anything this large is a typo, and "1e999999" would make
#: later arithmetic (quantize) raise instead of quarantining the deal.
MAX_ADJUSTED_EXPONENT = 14  # |value| < 10**15; compared without arithmetic, which could overflow


@dataclass(frozen=True, slots=True)
class RawCompany:
    id: str
    name: str | None = None
    tax_id: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class RawContact:
    id: str
    name: str | None = None
    title: str | None = None
    cpf: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class RawManager:
    id: str
    name: str | None = None
    email: str | None = None
    department: str | None = None


@dataclass(frozen=True, slots=True)
class RawItem:
    description: str | None = None
    quantity: str | None = None
    unit_price: str | None = None


@dataclass(frozen=True, slots=True)
class RawDealContact:
    """One contact bound to a deal (Bitrix24 ``crm.deal.contact.items.get``) with its signing role as typed in the
    CRM (None or "": no role). ``contact`` None: the binding points at a contact the CRM no longer has."""

    contact_id: str
    contact: RawContact | None = None
    sort: int = 10
    is_primary: bool = False
    role: str | None = None


@dataclass(frozen=True, slots=True)
class RawDeal:
    """One deal with what it points to. ``company_id``/``contact_id`` set but record None: dangling link."""

    id: int
    title: str | None = None
    amount: str | None = None
    currency: str | None = None
    stage_id: str | None = None
    category_id: str | None = None
    company_id: str | None = None
    contact_id: str | None = None
    company: RawCompany | None = None
    contact: RawContact | None = None
    manager: RawManager | None = None
    items: Sequence[RawItem] = field(default_factory=tuple)
    deal_contacts: Sequence[RawDealContact] = field(default_factory=tuple)


def text(value: object) -> str:
    """None -> "", anything else -> its string, stripped (CRMs pad values with spaces)."""
    return "" if value is None else str(value).strip()


def quote(raw: object) -> str:
    shown = str(raw)
    if len(shown) > _QUOTE_LIMIT:
        shown = shown[:_QUOTE_LIMIT] + "..."
    return repr(shown)


def parse_decimal(name: str, raw: object) -> tuple[Decimal, str | None]:
    """An exact Decimal, or ``Decimal(0)`` and a problem naming ``name`` (missing, not a number)."""
    raw_text = text(raw)
    if not raw_text:
        return Decimal(0), f"{name}: missing"
    try:
        number = Decimal(raw_text)
    except (InvalidOperation, ValueError):
        return Decimal(0), f"{name}: not a number ({quote(raw)})"
    if not number.is_finite():
        return Decimal(0), f"{name}: not a number ({quote(raw)})"
    if number.adjusted() > MAX_ADJUSTED_EXPONENT:
        return Decimal(0), f"{name}: out of range ({quote(raw)})"
    return number, None


def make_party(raw: RawDeal) -> tuple[Party, list[str]]:
    """The counterparty: the deal's company represented by its contact, or the contact as a person."""
    problems: list[str] = []
    contact = raw.contact
    if raw.contact_id and contact is None:
        problems.append(f"contact: #{raw.contact_id} not found")
    email = text(contact.email) if contact else ""
    phone = text(contact.phone) if contact else ""
    if raw.company is not None:
        company = raw.company
        return Party(
            name=text(company.name), tax_id=text(company.tax_id), address=text(company.address),
            representative=text(contact.name) if contact else "",
            representative_title=text(contact.title) if contact else "",
            email=email, phone=phone,
        ), problems
    if raw.company_id:
        problems.append(f"company: #{raw.company_id} not found")
        return Party(name="", tax_id="", email=email, phone=phone), problems
    if contact is None:
        problems.append("counterparty: the deal has no company and no contact")
        return Party(name="", tax_id=""), problems
    return Party(name=text(contact.name), tax_id=text(contact.cpf), email=email, phone=phone), problems


def make_items(items: Sequence[RawItem]) -> tuple[tuple[LineItem, ...], list[str]]:
    problems: list[str] = []
    result: list[LineItem] = []
    for index, item in enumerate(items):
        quantity, q_problem = parse_decimal(f"line_items[{index}].quantity", item.quantity)
        price, p_problem = parse_decimal(f"line_items[{index}].unit_price", item.unit_price)
        problems += [p for p in (q_problem, p_problem) if p]
        result.append(LineItem(description=text(item.description), quantity=quantity, unit_price=price))
    return tuple(result), problems


def make_manager(raw: RawManager | None) -> Manager | None:
    if raw is None:
        return None
    return Manager(id=raw.id, name=text(raw.name), email=text(raw.email), department=text(raw.department))


#: What a CRM user may type in the role field, folded (lower case, no accents): English codes and Portuguese words.
ROLE_WORDS: dict[str, SignerRole] = {
    "signer": SignerRole.SIGNER, "signatario": SignerRole.SIGNER, "signataria": SignerRole.SIGNER,
    "witness": SignerRole.WITNESS, "testemunha": SignerRole.WITNESS,
    "copy": SignerRole.COPY, "copia": SignerRole.COPY,
}


def _fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value.strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def parse_role(raw: object) -> tuple[SignerRole | None, bool]:
    """The signing role a CRM value names, and whether the value was understood. Empty: (None, True), no role;
    ``signer``/``signatário``, ``witness``/``testemunha``, ``copy``/``cópia`` in any case, with or without accents;
    anything else: (None, False)."""
    value = text(raw)
    if not value:
        return None, True
    role = ROLE_WORDS.get(_fold(value))
    return role, role is not None


def make_signers(raw: RawDeal) -> tuple[tuple[SignerSpec, ...], list[str]]:
    """The deal's signers as the CRM lists them (positions left to ``esign.model.signers.arrange``).

    Only deals whose contacts carry roles have signers; with none the counterparty's contact signs alone (``()``).
    When some do, the deal's primary contact (the counterparty's contact) signs too even without a role of its own,
    and signs first among the client signers: it is the document's counterparty, signer 1. The others follow in the
    CRM's SORT (then contact ID); contacts without a role are left out. An unknown role or a contact the CRM no
    longer has is a problem naming the contact (the deal is quarantined: a person fixes the CRM).
    """
    problems: list[str] = []
    roled: list[tuple[RawDealContact, SignerRole | None]] = []
    for link in raw.deal_contacts:
        role, known = parse_role(link.role)
        if not known:
            problems.append(f"contact #{link.contact_id}.role: " + UNKNOWN_ROLE % {"value": quote(link.role)})
        roled.append((link, role))
    if not any(role is not None for _, role in roled) and not problems:
        return (), []
    primary_id = next((link.contact_id for link, _ in roled if link.is_primary), raw.contact_id)
    chosen: list[tuple[RawDealContact, SignerRole]] = []
    for link, role in roled:
        if role is None and link.contact_id == primary_id:
            role = SignerRole.SIGNER
        if role is not None:
            chosen.append((link, role))
    if primary_id and not any(link.contact_id == primary_id for link, _ in chosen) and raw.contact is not None:
        chosen.append((RawDealContact(contact_id=primary_id, contact=raw.contact, sort=-1, is_primary=True),
                       SignerRole.SIGNER))
    chosen.sort(key=lambda pair: (not (pair[0].contact_id == primary_id and pair[1] is SignerRole.SIGNER),
                                  pair[0].sort, _id_key(pair[0].contact_id)))
    signers: list[SignerSpec] = []
    for link, role in chosen:
        contact = link.contact
        if contact is None:
            problems.append(f"contact #{link.contact_id}: not found")
            continue
        signers.append(SignerSpec(position=0, role=role, name=text(contact.name), tax_id=text(contact.cpf),
                                  email=text(contact.email), phone=text(contact.phone),
                                  contact_id=str(link.contact_id)))
    return tuple(signers), problems


def _id_key(contact_id: str) -> tuple[int, str]:
    return (int(contact_id), "") if contact_id.isdigit() else (0, contact_id)


def normalize_deal(raw: RawDeal) -> FetchedDeal:
    """Never raises for bad values: see :class:`FetchedDeal`."""
    amount, amount_problem = parse_decimal("amount", raw.amount)
    party, party_problems = make_party(raw)
    items, item_problems = make_items(raw.items)
    signers, signer_problems = make_signers(raw)
    problems = [p for p in (amount_problem,) if p] + party_problems + item_problems + signer_problems
    deal = Deal(
        id=str(raw.id),
        title=text(raw.title),
        amount=amount,
        currency=text(raw.currency).upper(),
        counterparty=party,
        stage_id=text(raw.stage_id),
        category_id=text(raw.category_id) or "0",
        line_items=items,
        manager=make_manager(raw.manager),
        signers=signers,
    )
    return FetchedDeal(deal=deal, problems=tuple(problems))
