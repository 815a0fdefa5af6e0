"""The company's signature: visible block in the "company" slot, then PAdES over the whole file."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError

from esign.errors import SigningError
from esign.model import SignatureSlot
from esign.signing.pades import PdfSealer
from esign.signing.stamps import company_overlay, find_slot, page_size, stamp, utc

COMPANY_FIELD = "esign_company"


def company_sign(pdf: bytes, slots: Sequence[SignatureSlot], sealer: PdfSealer, *, signer_name: str,
                 signer_title: str, company_name: str, signed_at: datetime) -> bytes:
    """Return the company-signed PDF (bytes; the caller stores it atomically).

    The block is drawn before signing so the signature covers it; the widget sits over the block.
    """
    if not signer_name.strip():
        raise SigningError("signer_name: must not be empty")
    try:
        reader = PdfReader(io.BytesIO(pdf))
        pages = len(reader.pages)
    except (PyPdfError, ValueError, OSError) as exc:
        raise SigningError(f"pdf: not a readable PDF ({exc})") from exc
    slot = find_slot(slots, "company", pages)
    writer = PdfWriter(clone_from=reader)
    try:
        page = writer.pages[slot.page]
        stamp(page, company_overlay(*page_size(page), slot, signer_name, signer_title, company_name,
                                    utc(signed_at)))
        out = io.BytesIO()
        writer.write(out)
    except (PyPdfError, ValueError, KeyError) as exc:
        raise SigningError(f"pdf: cannot draw the company block ({exc})") from exc
    box = (slot.page, slot.x, slot.y, slot.x + slot.width, slot.y + slot.height)
    return sealer.sign(out.getvalue(), COMPANY_FIELD, reason=f"Assinatura de {company_name}",
                       location="", signer_name=signer_name, signed_at=signed_at, box=box)
