"""The final document: company-signed pages + client block + certificate of completion, sealed.

The company's PAdES signature cannot survive a rewrite of the file, so its field is dropped rather
than left broken; the certificate prints the company-signed version's SHA-256 instead, and the seal
over the final file protects everything, certificate included.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from esign.errors import SigningError
from esign.model import ClientEvidence, SignatureSlot
from esign.signing.completion import CompletionInfo, certificate_pdf
from esign.signing.pades import PdfSealer
from esign.signing.stamps import client_block, find_slot, page_size, render_overlay, stamp

SEAL_FIELD = "esign_seal"
DOC_ID_KEY = "/EsignDocumentId"


def _is_signature_widget(annot: DictionaryObject) -> bool:
    field = annot
    for _ in range(8):  # walk up a widget's field parents (bounded: a cycle must not hang us)
        if field.get("/FT") == "/Sig":
            return True
        parent = field.get("/Parent")
        if parent is None:
            return False
        field = parent.get_object()
    return False


def _strip_signature_widgets(reader: PdfReader) -> None:
    for page in reader.pages:
        annots = page.get("/Annots")
        if annots is None:
            continue
        kept = [a for a in annots.get_object() if not _is_signature_widget(a.get_object())]
        if kept:
            page[NameObject("/Annots")] = ArrayObject(kept)
        else:
            del page[NameObject("/Annots")]


def finalize_document(company_signed_pdf: bytes, slots: Sequence[SignatureSlot], evidence: ClientEvidence,
                      info: CompletionInfo, sealer: PdfSealer) -> bytes:
    """Return the sealed final PDF (bytes; the caller stores it atomically)."""
    if not evidence.signer_name.strip():
        raise SigningError("signer_name: the client's name must not be empty")
    info.check()
    try:
        reader = PdfReader(io.BytesIO(company_signed_pdf))
        pages = len(reader.pages)
        slot = find_slot(slots, "client", pages)
        block = client_block(slot, evidence)
        certificate = PdfReader(io.BytesIO(certificate_pdf(info, evidence)))
        _strip_signature_widgets(reader)
        writer = PdfWriter()
        for page in reader.pages:
            writer.add_page(page)
        page = writer.pages[slot.page]
        stamp(page, render_overlay(*page_size(page), block))
        for page in certificate.pages:
            writer.add_page(page)
        metadata = {str(k): v for k, v in (reader.metadata or {}).items()}
        metadata[DOC_ID_KEY] = TextStringObject(info.document_id)
        writer.add_metadata(metadata)
        out = io.BytesIO()
        writer.write(out)
    except (PyPdfError, ValueError, KeyError, OSError) as exc:
        raise SigningError(f"pdf: cannot build the final document ({exc})") from exc
    return sealer.sign(out.getvalue(), SEAL_FIELD, reason="Documento concluído: selo de integridade",
                       location="", signer_name=info.company.name or info.company_signer_name,
                       signed_at=datetime.now(UTC))
