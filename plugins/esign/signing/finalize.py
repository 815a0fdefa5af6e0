"""The final document: company-signed pages + every signer's block + certificate of completion, sealed.

The changes (each signer's block drawn in the slot named after it, the certificate pages appended, the company
signature's field and widget dropped) are made on an incremental writer over the company-signed file, then the
resulting document is written afresh as a single revision holding only the objects it uses, and sealed there. So the
final file has no earlier revision to roll back to and no orphaned object (the company's signature dictionary,
superseded pages); its seal is a certification signature (DocMDP: no changes permitted) and the file's only
signature, which a compliant viewer requires of a certification signature. The certificate prints the SHA-256 of the
company-signed version, which the ledger keeps with the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import _ObjectImporter, copy_into_new_writer

from esign.errors import SigningError
from esign.i18n import N_
from esign.model import ClientEvidence, SignatureSlot
from esign.signing.completion import CompletionInfo, as_evidence_list, certificate_pdf
from esign.signing.pades import PdfSealer
from esign.signing.stamps import (
    Drawer,
    client_block,
    find_slot,
    page_count,
    render_overlay,
    resolved,
    stamp_incremental,
)

SEAL_FIELD = "esign_seal"
DOC_ID_KEY = "/EsignDocumentId"
SEAL_REASON = N_("Document completed: integrity seal")


def _is_signature_widget(annot: Any) -> bool:
    field = annot
    for _ in range(8):  # walk up a widget's field parents (bounded: a cycle must not hang us)
        if not isinstance(field, generic.DictionaryObject):
            return False
        if resolved(field, "/FT") == "/Sig":
            return True
        field = resolved(field, "/Parent")
    return False


def _drop_signature_fields(writer: IncrementalPdfFileWriter) -> None:
    """Remove signature widgets from every page and signature fields from the AcroForm (others stay)."""
    for ix in range(page_count(writer)):
        page_ref, _ = writer.find_page_for_modification(ix)  # type: ignore[no-untyped-call]
        page = page_ref.get_object()
        if "/Annots" not in page:
            continue
        annots = page["/Annots"]
        kept = [a for a in annots if not _is_signature_widget(a.get_object())]
        if len(kept) == len(annots):
            continue
        if kept:
            page[pdf_name("/Annots")] = generic.ArrayObject(kept)
        else:
            del page["/Annots"]
        writer.mark_update(page_ref)
    root = writer.root
    if "/AcroForm" in root:
        form = root["/AcroForm"]
        fields = [f for f in resolved(form, "/Fields") or () if not _is_signature_widget(f.get_object())]
        if fields:
            form = generic.DictionaryObject({k: v for k, v in form.items() if k != "/SigFlags"})  # type: ignore[no-untyped-call]
            form[pdf_name("/Fields")] = generic.ArrayObject(fields)
            root[pdf_name("/AcroForm")] = writer.add_object(form)
        else:
            del root["/AcroForm"]
        writer.update_root()  # type: ignore[no-untyped-call]


def _append_pages(writer: IncrementalPdfFileWriter, pdf: bytes) -> None:
    """Append every page of another PDF (shared resources such as fonts are imported once)."""
    source = PdfFileReader(BytesIO(pdf))
    importer = _ObjectImporter(source=source, target=writer, reference_map={}, obj_stream=None)
    kids = source.root["/Pages"]["/Kids"]
    for ix in range(len(kids)):
        page = kids[ix]
        if resolved(page, "/Type") != "/Page":
            raise SigningError("certificate of completion: unexpected page tree")
        copy = generic.DictionaryObject({pdf_name(k): importer.import_object(page.raw_get(k))  # type: ignore[no-untyped-call]
                                         for k in page if k != "/Parent"})
        writer.insert_page(copy)  # type: ignore[no-untyped-call]


def _set_document_id(writer: IncrementalPdfFileWriter, document_id: str) -> None:
    """In the Info dictionary, and in the catalog too: the catalog is the first object of the final file, so even
    a copy cut short still says which document it claims to be (and is judged altered, not unknown)."""
    writer.root[pdf_name(DOC_ID_KEY)] = generic.TextStringObject(document_id)
    writer.update_root()  # type: ignore[no-untyped-call]
    info_ref = writer.trailer.raw_get("/Info") if "/Info" in writer.trailer else None
    if isinstance(info_ref, generic.IndirectObject):
        info = info_ref.get_object()  # type: ignore[no-untyped-call]
        info[pdf_name(DOC_ID_KEY)] = generic.TextStringObject(document_id)
        writer.mark_update(info_ref)
    else:
        writer.set_info(generic.DictionaryObject({pdf_name(DOC_ID_KEY): generic.TextStringObject(document_id)}))  # type: ignore[no-untyped-call]


def _checked(evidence: ClientEvidence | Sequence[ClientEvidence]) -> list[ClientEvidence]:
    signed = as_evidence_list(evidence)
    if not signed:
        raise SigningError("evidence: nobody signed the document")
    seen: set[str] = set()
    for item in signed:
        if not item.signer_name.strip():
            raise SigningError(f"signer_name: the name of signer {item.position} ({item.slot}) must not be empty")
        if item.slot in seen:
            raise SigningError(f"evidence: two signatures for the {item.slot!r} block")
        seen.add(item.slot)
    return signed


def _together(drawers: list[Drawer]) -> Drawer:
    def draw(c: Any) -> None:
        for drawer in drawers:
            drawer(c)
    return draw


def finalize_document(company_signed_pdf: bytes, slots: Sequence[SignatureSlot],
                      evidence: ClientEvidence | Sequence[ClientEvidence], info: CompletionInfo,
                      sealer: PdfSealer) -> bytes:
    """Return the sealed final PDF (bytes; the caller stores it atomically).

    ``evidence`` holds one item per person who signed (a single item for a one-signer document); each block is
    drawn in the slot named by its ``slot`` (``client``, ``client_2``, ``witness_1``, ``company_2``, ...).
    """
    signed = _checked(evidence)
    info.check()
    try:
        writer = IncrementalPdfFileWriter(BytesIO(company_signed_pdf), strict=False)
        pages = page_count(writer)
        t = info.translator()
        by_page: dict[int, list[Drawer]] = {}
        for item in signed:
            slot = find_slot(slots, item.slot, pages)
            by_page.setdefault(slot.page, []).append(client_block(slot, item, t))
        certificate = certificate_pdf(info, signed)
        _drop_signature_fields(writer)
        for page_ix, drawers in sorted(by_page.items()):
            page_ref, _ = writer.find_page_for_modification(page_ix)  # type: ignore[no-untyped-call]
            box = page_ref.get_object()["/MediaBox"]
            stamp_incremental(writer, page_ix, render_overlay(float(box[2]), float(box[3]), _together(drawers)))
        _append_pages(writer, certificate)
        _set_document_id(writer, info.document_id)
        fresh = copy_into_new_writer(writer)  # only what the document uses, as one revision
    except (PdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise SigningError(f"pdf: cannot build the final document ({exc})") from exc
    return sealer.seal_writer(fresh, SEAL_FIELD, reason=t.gettext(SEAL_REASON),
                              signer_name=info.company.name or info.company_signer_name,
                              signed_at=datetime.now(UTC))
