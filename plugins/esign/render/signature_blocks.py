"""The signature blocks of a contract: the director's and one per signing person, and the captions under each.

One signer keeps the two-block layout every document had (company left, client right). Several: the company side
(director, second company signer) on the left, the client's signers on the right, then the witnesses two by two
under "Witnesses:", numbered, with name and CPF, as Brazilian contracts lay them out. Each box records its slot
under the signer's block name, so the final document stamps each signature where its caption is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from markupsafe import escape
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from esign.i18n import N_, Translator
from esign.model import Party
from esign.model.signers import SignerRole, SignerSide, SignerSpec
from esign.render.filters import cpf_cnpj, tax_label
from esign.render.flowables import SignatureBox, SlotRecorder
from esign.render.fonts import register_fonts

WITNESSES = N_("Witnesses:")
WITNESS_NAME = N_("Name: %(name)s")
WITNESS_TAX_ID = N_("CPF: %(tax_id)s")
ON_BEHALF_OF = N_("for %(party)s")


class SignatureLayout:
    """Lays out the boxes of one ``signatures`` block; ``para`` makes a body paragraph in the contract's style."""

    def __init__(self, context: dict[str, Any], recorder: SlotRecorder, width: float, t: Translator,
                 para: Callable[[str], Paragraph]) -> None:
        self.context = context
        self.recorder = recorder
        self.width = width
        self.t = t
        self.para = para

    def two_blocks(self, labels: tuple[str, str], intro: list[Flowable]) -> list[Flowable]:
        company, counterparty = self.context["company"], self.context["counterparty"]
        box_width = self.width * 0.44
        boxes = [
            SignatureBox("company", signature_captions(labels[0], company), self.recorder, box_width),
            SignatureBox("client", signature_captions(labels[1], counterparty), self.recorder, box_width),
        ]
        table = Table([boxes], colWidths=[self.width / 2, self.width / 2])
        table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), register_fonts()[0]),
                                   ("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                   ("ALIGN", (0, 0), (0, 0), "LEFT"), ("ALIGN", (1, 0), (1, 0), "RIGHT")]))
        return [Spacer(1, 10), KeepTogether([*intro, Spacer(1, 18), table])]

    def many_blocks(self, labels: tuple[str, str], intro: list[Flowable], signers: Sequence[SignerSpec],
                     wanted: set[str]) -> list[Flowable]:
        """The company side (director, second company signer) on the left, the client's signers on the right,
        then the witnesses two by two under "Witnesses:", numbered, with name and CPF."""
        box_width = self.width * 0.44
        t = self.t
        left = [SignatureBox("company", signature_captions(labels[0], self.context["company"]), self.recorder,
                             box_width)] if "company" in wanted else []
        right: list[Flowable] = []
        witnesses: list[Flowable] = []
        for signer in sorted((s for s in signers if s.slot in wanted), key=lambda s: slot_number(s.slot)):
            captions, prefix = slot_captions(signer.slot, self.context, labels, t)
            if signer.role is SignerRole.WITNESS:
                witnesses.append(SignatureBox(signer.slot, captions, self.recorder, box_width, prefix=prefix))
            elif signer.side is SignerSide.COMPANY:
                left.append(SignatureBox(signer.slot, captions, self.recorder, box_width))
            else:
                right.append(SignatureBox(signer.slot, captions, self.recorder, box_width))
        story: list[Flowable] = [Spacer(1, 10)]
        rows = _pairs(left, right)
        first: list[Flowable] = [*intro, Spacer(1, 18)]
        if rows:
            first.append(self._box_table(rows[:1]))
        story.append(KeepTogether(first))
        if len(rows) > 1:
            story.append(self._box_table(rows[1:], top=14))
        if witnesses:
            pairs = [witnesses[i:i + 2] + [""] * (2 - len(witnesses[i:i + 2])) for i in range(0, len(witnesses), 2)]
            story.append(KeepTogether([Spacer(1, 16), self.para(str(escape(t.gettext(WITNESSES)))), Spacer(1, 12),
                                       self._box_table(pairs)]))
        return story

    def _box_table(self, rows: list[list[Any]], top: float = 0) -> Table:
        table = Table(rows, colWidths=[self.width / 2, self.width / 2])
        table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), register_fonts()[0]),
                                   ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                   ("TOPPADDING", (0, 0), (-1, 0), top), ("TOPPADDING", (0, 1), (-1, -1), 14),
                                   ("ALIGN", (0, 0), (0, -1), "LEFT"), ("ALIGN", (1, 0), (1, -1), "RIGHT")]))
        return table


def _pairs(left: list[Flowable], right: list[Flowable]) -> list[list[Any]]:
    """Rows of two cells: the company side's boxes on the left, the client side's on the right."""
    count = max(len(left), len(right))
    return [[left[i] if i < len(left) else "", right[i] if i < len(right) else ""] for i in range(count)]


def slot_number(slot: str) -> tuple[int, int]:
    """Sort key of a block name: company side, client side, witnesses; then its number (``client`` is 1)."""
    kind, _, number = slot.partition("_")
    rank = {"company": 0, "client": 1, "witness": 2}.get(kind, 3)
    return rank, int(number) if number.isdigit() else 1


def _slot_signer(slot: str, context: dict[str, Any]) -> SignerSpec | None:
    return next((s for s in context["signers"] if s.slot == slot), None)


def slot_captions(slot: str, context: dict[str, Any], labels: tuple[str, str], t: Any
                  ) -> tuple[list[tuple[str, bool]], str]:
    """The captions under the block named ``slot`` and its number (witnesses' "1."; empty for the others).

    The director's block (``company``) names the company and its representative; a document signed by the
    counterparty alone names the counterparty under ``client``, as it always did; otherwise each block names its
    signer (with the party they sign for), a witness block gives name and CPF.
    """
    company, counterparty = context["company"], context["counterparty"]
    signers: tuple[SignerSpec, ...] = context["signers"]
    if slot == "company":
        return signature_captions(labels[0], company), ""
    signer = _slot_signer(slot, context)
    if signer is None or (slot == "client" and len(signers) == 1):
        return signature_captions(labels[1], counterparty), ""
    tax = f"{tax_label(signer.tax_id)} {cpf_cnpj(signer.tax_id)}" if signer.tax_id else ""
    if signer.role is SignerRole.WITNESS:
        number = slot_number(slot)[1]
        captions = [(t.gettext(WITNESS_NAME) % {"name": signer.name}, False)]
        if signer.tax_id:
            captions.append((t.gettext(WITNESS_TAX_ID) % {"tax_id": cpf_cnpj(signer.tax_id)}, False))
        return captions, f"{number}."
    party = company if signer.side is SignerSide.COMPANY else counterparty
    label = labels[0] if signer.side is SignerSide.COMPANY else labels[1]
    captions = [(label, False), (signer.name, True)]
    if tax:
        captions.append((tax, False))
    if party.name and party.name != signer.name:
        captions.append((t.gettext(ON_BEHALF_OF) % {"party": party.name}, False))
    return captions, ""


def signature_captions(label: str, party: Party) -> list[tuple[str, bool]]:
    """Label, name and title (or tax ID) printed under a signature line."""
    if party.representative:
        detail = ", ".join(p for p in (party.representative, party.representative_title) if p)
    else:
        detail = f"{tax_label(party.tax_id)} {cpf_cnpj(party.tax_id)}" if party.tax_id else ""
    return [(label, False), (party.name, True), (detail, False)]


def expected_slots(context: dict[str, Any]) -> set[str]:
    """The blocks a document needs: the director's (``company``) and one per signing person."""
    return {"company", *(signer.slot for signer in context["signers"])}
