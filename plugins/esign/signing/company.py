"""The company's signature: visible block in the "company" slot, then PAdES over the whole file.

The company-signed file is the rendered file, byte for byte, plus one incremental update holding the block and
the signature: one pyHanko writer reads only the slot page and the catalog, and the sealer signs that writer.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError

from esign.errors import SigningError
from esign.i18n import N_, Translator, translator
from esign.model import SignatureSlot
from esign.signing.pades import PdfSealer
from esign.signing.stamps import company_overlay, find_slot, page_count, stamp_incremental, utc

COMPANY_FIELD = "esign_company"
SIGNATURE_REASON = N_("Signature of %(company)s")


def company_sign(pdf: bytes, slots: Sequence[SignatureSlot], sealer: PdfSealer, *, signer_name: str,
                 signer_title: str, company_name: str, signed_at: datetime, t: Translator | None = None) -> bytes:
    """Return the company-signed PDF (bytes; the caller stores it atomically).

    The block is drawn in the same update as the signature, so the signature covers it; the widget sits over it.
    Its texts (and the signature's reason) are in ``t``'s language and time zone (default: pt-BR, São Paulo).
    """
    t = t or translator()
    if not signer_name.strip():
        raise SigningError("signer_name: must not be empty")
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        pages = page_count(writer)
    except (PdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise SigningError(f"pdf: not a readable PDF ({exc})") from exc
    slot = find_slot(slots, "company", pages)
    try:
        page_ref, _ = writer.find_page_for_modification(slot.page)  # type: ignore[no-untyped-call]
        media = page_ref.get_object()["/MediaBox"]
        stamp_incremental(writer, slot.page, company_overlay(float(media[2]), float(media[3]), slot, signer_name,
                                                             signer_title, company_name, utc(signed_at), t))
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise SigningError(f"pdf: cannot draw the company block ({exc})") from exc
    box = (slot.page, slot.x, slot.y, slot.x + slot.width, slot.y + slot.height)
    return sealer.sign_writer(writer, COMPANY_FIELD, reason=t.gettext(SIGNATURE_REASON) % {"company": company_name},
                              location="", signer_name=signer_name, signed_at=signed_at, box=box)
