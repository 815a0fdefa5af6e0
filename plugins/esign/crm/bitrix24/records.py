"""Bitrix24 records (legacy ``crm.*`` rows: strings or null; ``crm.item.*``: camelCase, typed) turned into the
shared ``Raw*`` records.

Why no parsing here: numbers stay as text (JSON numbers arrive as Decimal and are printed exactly);
:func:`esign.crm.normalize.normalize_deal` parses them and turns bad values into ``problems``, the same way for
every connector.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from esign.crm.normalize import RawCompany, RawContact, RawDealContact, RawItem, RawManager

Row = Mapping[str, Any]

DEAL_SELECT = ("ID", "TITLE", "STAGE_ID", "CATEGORY_ID", "COMPANY_ID", "CONTACT_ID", "ASSIGNED_BY_ID",
               "OPPORTUNITY", "CURRENCY_ID")
_ADDRESS = ("ADDRESS", "ADDRESS_2", "ADDRESS_CITY", "ADDRESS_PROVINCE", "ADDRESS_POSTAL_CODE")


def company_select(tax_field: str) -> list[str]:
    """What ``crm.company.list`` must return for :func:`company` (asking only for these keeps it cheap)."""
    return ["ID", "TITLE", tax_field, *_ADDRESS]


def contact_select(tax_field: str, role_field: str = "") -> list[str]:
    """For :func:`contact`; PHONE and EMAIL are multi-fields, never in ``*``: they must be named. ``role_field``: the
    contact's signing role, when several signers are read."""
    return ["ID", "NAME", "SECOND_NAME", "LAST_NAME", "POST", tax_field, "EMAIL", "PHONE",
            *([role_field] if role_field else [])]


def ref_id(value: object) -> str | None:
    """A link to another record: None for null, "", "0" (Bitrix24's "no company")."""
    text = "" if value is None else str(value).strip()
    return None if text in ("", "0") else text


def opt(value: object) -> str | None:
    """A scalar field as text; lists (multiple user fields) give their first value."""
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None or isinstance(value, dict):
        return None
    return str(value)


def multi_value(value: object) -> str | None:
    """PHONE/EMAIL multi-field: the first WORK value, else the first non-empty one."""
    if not isinstance(value, Sequence) or isinstance(value, str):
        return opt(value)
    entries = [e for e in value if isinstance(e, Mapping) and str(e.get("VALUE") or "").strip()]
    for entry in entries:
        if str(entry.get("VALUE_TYPE") or "").upper() == "WORK":
            return str(entry["VALUE"]).strip()
    return str(entries[0]["VALUE"]).strip() if entries else None


def full_name(row: Row, *keys: str) -> str | None:
    parts = [str(row.get(k) or "").strip() for k in keys]
    name = " ".join(p for p in parts if p)
    return name or None


def company(row: Row, tax_field: str) -> RawCompany:
    address = ", ".join(str(row.get(k)).strip() for k in _ADDRESS if str(row.get(k) or "").strip())
    return RawCompany(id=str(row.get("ID")), name=opt(row.get("TITLE")), tax_id=opt(row.get(tax_field)),
                      address=address or None)


def contact(row: Row, tax_field: str) -> RawContact:
    return RawContact(id=str(row.get("ID")), name=full_name(row, "NAME", "SECOND_NAME", "LAST_NAME"),
                      title=opt(row.get("POST")), cpf=opt(row.get(tax_field)),
                      email=multi_value(row.get("EMAIL")), phone=multi_value(row.get("PHONE")))


def deal_contacts(bindings: object, contacts: Mapping[str, Row], tax_field: str,
                  role_field: str) -> list[RawDealContact]:
    """``crm.deal.contact.items.get`` rows (CONTACT_ID, SORT, ROLE_ID, IS_PRIMARY; numbers as numbers) with their
    contacts' ``crm.contact.list`` rows: the role is the contact's ``role_field`` (ROLE_ID is reserved, always 0)."""
    found: list[RawDealContact] = []
    for binding in bindings if isinstance(bindings, list) else []:
        if not isinstance(binding, Mapping) or (contact_id := ref_id(binding.get("CONTACT_ID"))) is None:
            continue
        row = contacts.get(contact_id)
        found.append(RawDealContact(contact_id=contact_id, contact=contact(row, tax_field) if row else None,
                                    sort=_sort_key(binding.get("SORT")),
                                    is_primary=str(binding.get("IS_PRIMARY") or "").upper() == "Y",
                                    role=opt(row.get(role_field)) if row else None))
    return found


def manager(row: Row, departments: Mapping[str, str]) -> RawManager:
    dept_ids = row.get("UF_DEPARTMENT") or []
    dept = next((departments[str(d)] for d in dept_ids if str(d) in departments), None) \
        if isinstance(dept_ids, list) else None
    return RawManager(id=str(row.get("ID")), name=full_name(row, "NAME", "LAST_NAME"),
                      email=opt(row.get("EMAIL")), department=dept)


def product_rows_by_deal(rows: Iterable[object]) -> dict[str, list[RawItem]]:
    """``crm.item.productrow.list`` rows (camelCase) per deal ID, in the deal's order (``sort``, then ``id``).
    ``price`` is the final unit price (discount and tax applied), as PRICE was in the legacy method."""
    grouped: dict[str, list[Row]] = {}
    for row in rows:
        if isinstance(row, Mapping) and str(row.get("ownerType") or "D") == "D" and ref_id(row.get("ownerId")):
            grouped.setdefault(str(ref_id(row.get("ownerId"))), []).append(row)
    return {deal: [RawItem(description=opt(r.get("productName")), quantity=opt(r.get("quantity")),
                           unit_price=opt(r.get("price")))
                   for r in sorted(found, key=lambda r: (_sort_key(r.get("sort")), _sort_key(r.get("id"))))]
            for deal, found in grouped.items()}


def _sort_key(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
