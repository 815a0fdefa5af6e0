"""Templates -> PDF: contracts laid out from YAML templates, or existing PDFs decorated for signing."""

from esign.render.document import RenderedDocument, render_document
from esign.render.fonts import register_fonts
from esign.render.templates import DocumentTemplate, TemplateLibrary

__all__ = ["DocumentTemplate", "RenderedDocument", "TemplateLibrary", "register_fonts", "render_document"]
