"""The values a template sees: the deal and parties, sanitised and cut to printable lengths.

Why here and not in validation: validation rejects bad deals, but the renderer may still be handed one
(a preview, a manual run) and must not crash: control characters are dropped and a 5,000-character
field is shortened with an ellipsis so that no table row can outgrow a page.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from esign.errors import ValidationError
from esign.model import Deal, LineItem, Manager, Party
from esign.model.signers import SignerRole, SignerSide, SignerSpec, default_signer, signing_signers
from esign.render.fonts import font_safe
from esign.validate import MAX_ADDRESS, MAX_FREE_TEXT, MAX_NAME, MAX_TITLE, sanitize_text

MAX_DOCUMENT_ID = 100
#: The blocks a signing person may fill (esign.model.signers.slot_names); ``company`` is the director's.
SLOT_NAME = re.compile(r"client|(client|company)_([2-9]|[1-9][0-9])|witness_[1-9][0-9]?")


def clip(value: object, limit: int) -> str:
    """Sanitised, printable text of at most ``limit`` characters (an ellipsis marks a cut)."""
    text = sanitize_text(value if isinstance(value, str) else ("" if value is None else str(value))).strip()
    text = text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
    return font_safe(text)


def clean_party(party: Party) -> Party:
    return Party(name=clip(party.name, MAX_NAME), tax_id=clip(party.tax_id, 40),
                 address=clip(party.address, MAX_ADDRESS), representative=clip(party.representative, MAX_NAME),
                 representative_title=clip(party.representative_title, MAX_NAME),
                 email=clip(party.email, 254), phone=clip(party.phone, 40))


def _number(value: object, field: str) -> Decimal:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        number = Decimal("NaN")
    if isinstance(value, bool) or not number.is_finite():
        raise ValidationError(field, "not a number")
    return number


def check_document_id(document_id: object) -> str:
    """The document ID printed on every page; it must be short, single-line printable text."""
    if not isinstance(document_id, str) or not document_id.strip():
        raise ValidationError("document_id", "missing")
    if len(document_id) > MAX_DOCUMENT_ID:
        raise ValidationError("document_id", f"longer than {MAX_DOCUMENT_ID} characters")
    if sanitize_text(document_id) != document_id or not document_id.isprintable():
        raise ValidationError("document_id", "contains control or non-printable characters")
    return document_id


def as_utc(moment: object) -> datetime:
    """``issued_at`` in UTC; a naive datetime is taken to be UTC already."""
    if not isinstance(moment, datetime):
        raise ValidationError("issued_at", "must be a datetime")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def clean_signer(signer: SignerSpec) -> SignerSpec:
    return dataclasses.replace(signer, name=clip(signer.name, MAX_NAME), tax_id=clip(signer.tax_id, 40),
                               email=clip(signer.email, 254), phone=clip(signer.phone, 40),
                               slot=clip(signer.slot, 40))


def document_signers(signers: Sequence[SignerSpec], counterparty: Party) -> tuple[SignerSpec, ...]:
    """The people who sign (signers and witnesses), cleaned, by routing order; none given: the counterparty's
    one signer (slot ``client``), as every document had before several signers existed."""
    signing = signing_signers(signers)
    if not signing:
        signing = [default_signer(counterparty.representative or counterparty.name, counterparty.tax_id,
                                  counterparty.email, counterparty.phone)]
    seen: set[str] = {"company"}  # the director's block
    for signer in signing:
        where = f"signers[{signer.position}].slot"
        if not SLOT_NAME.fullmatch(signer.slot):
            raise ValidationError(where, f"not a signature block name: {signer.slot!r}")
        if signer.slot in seen:
            raise ValidationError(where, f"block {signer.slot!r} is taken by another signer")
        seen.add(signer.slot)
    return tuple(clean_signer(s) for s in signing)


def build_context(company: Party, deal: Deal, document_id: str, issued_at: datetime,
                  locale: str, signers: Sequence[SignerSpec] = ()) -> dict[str, Any]:
    """Everything a template may reference: deal, company, counterparty, items, total, document_id, ...

    and the document's signing people: ``signers`` (signers and witnesses, by routing order), ``client_signers``,
    ``company_signers`` (the second company signer and further; the director is ``company``), ``witnesses``.
    """
    if not isinstance(company, Party):
        raise ValidationError("company", "missing")
    if not isinstance(deal.counterparty, Party):
        raise ValidationError("counterparty", "missing")
    items: list[LineItem] = []
    for index, item in enumerate(deal.line_items):
        quantity = _number(item.quantity, f"line_items[{index}].quantity")
        price = _number(item.unit_price, f"line_items[{index}].unit_price")
        items.append(LineItem(description=clip(item.description, MAX_FREE_TEXT), quantity=quantity,
                              unit_price=price))
    amount = _number(deal.amount, "amount")
    manager = deal.manager
    if manager is not None:
        manager = Manager(id=clip(manager.id, 100), name=clip(manager.name, MAX_NAME),
                          email=clip(manager.email, 254), department=clip(manager.department, MAX_NAME))
    counterparty = clean_party(deal.counterparty)
    clean_deal = dataclasses.replace(
        deal, id=clip(deal.id, 100), title=clip(deal.title, MAX_TITLE), amount=amount,
        currency=clip(deal.currency, 3).upper() or "BRL", counterparty=counterparty, manager=manager,
        attachment_pdf=None, line_items=tuple(items),
        extra={clip(k, 100): clip(v, MAX_FREE_TEXT) for k, v in deal.extra.items()},
    )
    total = sum((item.total for item in items), Decimal("0.00")) if items else amount
    people = document_signers(signers, counterparty)
    return {
        "deal": clean_deal,
        "company": clean_party(company),
        "counterparty": counterparty,
        "items": tuple(items),
        "total": total,
        "currency": clean_deal.currency,
        "document_id": document_id,
        "issued_at": issued_at,
        "locale": locale,
        "signers": people,
        "client_signers": tuple(s for s in people if s.role is SignerRole.SIGNER and s.side is SignerSide.CLIENT),
        "company_signers": tuple(s for s in people if s.role is SignerRole.SIGNER and s.side is SignerSide.COMPANY),
        "witnesses": tuple(s for s in people if s.role is SignerRole.WITNESS),
    }
