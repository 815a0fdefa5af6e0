"""Regenerate ``templates/acordo_confidencialidade.pdf``, the sample "document already made".

It stands for a PDF produced elsewhere (a lawyer's word processor): plain Helvetica, no ID stripe, no
page numbers, and free space at the bottom of the last page where the template places the signature
blocks. Run from the repository root: ``python templates/tools/make_sample_nda.py``. Output is
byte-for-byte reproducible.
"""

from __future__ import annotations

import io
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

OUT = Path(__file__).resolve().parent.parent / "acordo_confidencialidade.pdf"

CLAUSES = [
    ("Objeto", "Este Acordo regula o tratamento das Informações Confidenciais que as Partes trocarem entre si "
               "durante as negociações e a execução de qualquer contrato entre elas."),
    ("Informações Confidenciais", "São confidenciais todos os dados técnicos, comerciais, financeiros e "
                                  "pessoais revelados por uma Parte à outra, por qualquer meio, identificados "
                                  "ou não como tais, salvo os que já forem de domínio público."),
    ("Obrigações", "A Parte receptora usará as Informações Confidenciais apenas para a finalidade deste Acordo, "
                   "não as revelará a terceiros sem autorização escrita e as protegerá com o mesmo cuidado "
                   "com que protege as suas próprias."),
    ("Dados pessoais", "O tratamento de dados pessoais observará a Lei nº 13.709/2018 (LGPD); cada Parte "
                       "responde pelos atos de seus empregados e prestadores."),
    ("Devolução", "Encerradas as negociações, ou a pedido da Parte reveladora, a Parte receptora devolverá "
                  "ou destruirá as Informações Confidenciais e suas cópias, confirmando-o por escrito."),
    ("Vigência", "As obrigações deste Acordo vigoram por 5 (cinco) anos contados da data da última "
                 "assinatura, inclusive após o término de qualquer contrato entre as Partes."),
    ("Penalidades", "A violação deste Acordo sujeita a Parte infratora à reparação integral das perdas e "
                    "danos, sem prejuízo das medidas judiciais cabíveis para cessar a violação."),
    ("Foro", "Fica eleito o foro da Comarca de São Paulo/SP para dirimir as questões deste Acordo."),
]


def build() -> bytes:
    body = ParagraphStyle("b", fontName="Helvetica", fontSize=10.5, leading=15, spaceAfter=8)
    head = ParagraphStyle("h", parent=body, fontName="Helvetica-Bold", fontSize=15, leading=20, alignment=1,
                          spaceAfter=16)
    clause = ParagraphStyle("c", parent=body, fontName="Helvetica-Bold", spaceAfter=3)
    story = [Paragraph("ACORDO DE CONFIDENCIALIDADE", head),
             Paragraph("Pelo presente instrumento, as partes identificadas nas assinaturas abaixo celebram este "
                       "Acordo de Confidencialidade, que se regerá pelas cláusulas seguintes.", body)]
    for number, (title, text) in enumerate(CLAUSES, start=1):
        story += [Paragraph(f"{number}. {title}", clause), Paragraph(text, body)]
    story += [Spacer(1, 6), Paragraph("Assinaturas eletrônicas das partes:", body)]
    buffer = io.BytesIO()
    # Generous bottom margin on purpose: the template's slots sit in it.
    doc = SimpleDocTemplate(buffer, pagesize=A4, invariant=1, leftMargin=30 * mm, rightMargin=25 * mm,
                            topMargin=25 * mm, bottomMargin=62 * mm, title="Acordo de Confidencialidade",
                            author="Departamento Jurídico", creator="sample generator")
    doc.build(story)
    return buffer.getvalue()


if __name__ == "__main__":
    OUT.write_bytes(build())
    print(f"wrote {OUT.name}")
