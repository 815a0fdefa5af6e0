"""The renderer's entry point: a template, the parties and a deal in; PDF bytes and signature slots out.

Why bytes and not a file: the caller decides where (and how atomically) to store the document, so a
failed render can never leave a half-written file behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from esign.errors import RenderError
from esign.model import Deal, Party, SignatureSlot, SignerSpec
from esign.render.context import as_utc, build_context, check_document_id, clip
from esign.render.contract import render_blocks
from esign.render.existing import render_existing
from esign.render.templates import DocumentTemplate
from esign.validate import MAX_TITLE


@dataclass(frozen=True)
class RenderedDocument:
    """A rendered PDF, where its signature blocks are (PDF points, 0-based pages), and its page count."""

    pdf: bytes
    slots: tuple[SignatureSlot, ...]
    page_count: int

    def slot(self, role: str) -> SignatureSlot:
        """The slot of one role ("company", "client", "client_2", "witness_1", ...)."""
        for slot in self.slots:
            if slot.role == role:
                return slot
        raise KeyError(role)


def render_document(template: DocumentTemplate, company: Party, deal: Deal, document_id: str,
                    issued_at: datetime, signers: Sequence[SignerSpec] = ()) -> RenderedDocument:
    """Render one document. Same inputs give byte-identical output.

    ``signers`` are the document's (arranged: each signing person names its block, ``esign.model.signers``):
    one block is drawn for the director (``company``) and one per signer and witness; none, or the counterparty's
    one signer, gives the two-block layout. Raises ValidationError for unusable input (document_id, issued_at,
    non-numeric amounts, a missing attachment) and RenderError for template or layout problems (a block the
    template cannot place); never writes files.
    """
    if not isinstance(template, DocumentTemplate):
        raise RenderError(f"not a document template: {type(template).__name__}")
    document_id = check_document_id(document_id)
    moment = as_utc(issued_at)
    context = build_context(company, deal, document_id, moment, template.locale, signers)
    title = clip(template.title.render(context), MAX_TITLE) or template.id
    info_title = f"{title} ({document_id})"
    if template.kind == "pdf":
        pdf, pages, slots = render_existing(template, context, attachment=deal.attachment_pdf, title=info_title,
                                            document_id=document_id, issued_at=moment)
    else:
        pdf, pages, slots = render_blocks(template, template.body, context, title=info_title,
                                          document_id=document_id, issued_at=moment)
    return RenderedDocument(pdf=pdf, slots=slots, page_count=pages)
