"""Rendering the shipped service contract: text, determinism, metadata, decorations, slots, bad input."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from esign.errors import RenderError, ValidationError
from esign.model import Deal, LineItem, Party
from esign.render import RenderedDocument, TemplateLibrary, render_document
from tests.render.helpers import ISSUED_AT, TEMPLATES_DIR, pdf_text, poppler_text, qpdf_check

MakeDeal = Callable[..., Deal]


def render(library: TemplateLibrary, company: Party, deal: Deal, document_id: str = "DOC-2026-000123",
           template_id: str = "contrato_servicos") -> RenderedDocument:
    return render_document(library.get(template_id), company, deal, document_id, ISSUED_AT)


@pytest.fixture
def contract(library: TemplateLibrary, company: Party, make_deal: MakeDeal) -> RenderedDocument:
    return render(library, company, make_deal())


def test_contract_text_has_accents_parties_and_amounts(contract: RenderedDocument) -> None:
    text = pdf_text(contract.pdf)
    for expected in ("CONTRATO DE PRESTAÇÃO DE SERVIÇOS", "Prestação", "São Paulo", "Ünïcödé Comércio",
                     "11.222.333/0001-81", "12.ABC.345/01DE-35", "Maria Aparecida Souza", "R$ 12.000,00",
                     "R$ 4.500,00", "R$ 16.500,00", "CLÁUSULA DÉCIMA TERCEIRA", "28 de novembro de 2026",
                     "Nº DOC-2026-000123"):
        assert expected in text, expected


def test_same_inputs_give_identical_bytes(library: TemplateLibrary, company: Party, make_deal: MakeDeal,
                                          contract: RenderedDocument) -> None:
    again = render(library, company, make_deal())
    assert hashlib.sha256(again.pdf).hexdigest() == hashlib.sha256(contract.pdf).hexdigest()
    assert again.slots == contract.slots


def test_identical_bytes_across_processes(contract: RenderedDocument) -> None:
    script = (
        "import hashlib\n"
        "from decimal import Decimal\n"
        "from esign.model import Deal, LineItem, Manager, Party\n"
        "from esign.render import TemplateLibrary, render_document\n"
        "from tests.render.helpers import ISSUED_AT, TEMPLATES_DIR\n"
        "company = Party(name='Acme Serviços Digitais Ltda', tax_id='11.222.333/0001-81',"
        " address='Av. Paulista, 1000, 10º andar, São Paulo/SP, 01310-100',"
        " representative='Maria Aparecida Souza', representative_title='Diretora Executiva',"
        " email='contratos@acme.com.br', phone='+55 11 3000-1000')\n"
        "cp = Party(name='Ünïcödé Comércio e Serviços S.A.', tax_id='12.ABC.345/01DE-35',"
        " address='Rua das Flores, 25, São Paulo/SP', representative='João da Silva',"
        " representative_title='Sócio-administrador', email='joao@unicode.com.br', phone='+5511987654321')\n"
        "deal = Deal(id='4711', title='Implantação do CRM e treinamento', amount=Decimal('16500.00'),"
        " currency='BRL', counterparty=cp,"
        " line_items=(LineItem('Consultoria de implantação (horas)', Decimal('80'), Decimal('150.00')),"
        " LineItem('Treinamento da equipe', Decimal('2'), Decimal('2250.00'))),"
        " manager=Manager(id='7', name='Ana Lima', email='ana.lima@acme.com.br'))\n"
        "doc = render_document(TemplateLibrary(TEMPLATES_DIR).get('contrato_servicos'), company, deal,"
        " 'DOC-2026-000123', ISSUED_AT)\n"
        "print(hashlib.sha256(doc.pdf).hexdigest())\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         cwd=TEMPLATES_DIR.parent)
    assert out.stdout.strip() == hashlib.sha256(contract.pdf).hexdigest()


def test_other_document_id_changes_bytes_and_file_id(library: TemplateLibrary, company: Party,
                                                     make_deal: MakeDeal, contract: RenderedDocument) -> None:
    other = render(library, company, make_deal(), document_id="DOC-2026-000124")
    assert other.pdf != contract.pdf
    ids = [PdfReader(io.BytesIO(doc.pdf)).trailer["/ID"][0] for doc in (contract, other)]
    assert ids[0] != ids[1]


def test_info_dictionary_and_file_id(contract: RenderedDocument) -> None:
    reader = PdfReader(io.BytesIO(contract.pdf))
    info = reader.metadata
    assert info is not None
    assert info["/EsignDocumentId"] == "DOC-2026-000123"
    assert info["/Title"] == "Contrato de Prestação de Serviços — Implantação do CRM e treinamento (DOC-2026-000123)"
    assert info["/CreationDate"] == "D:20261128140300+00'00'"
    assert info["/Producer"] == "esign-pipeline"
    expected = hashlib.sha256(b"esign-pipeline:DOC-2026-000123").digest()[:16]
    first, second = reader.trailer["/ID"]
    assert bytes(first.original_bytes) == expected == bytes(second.original_bytes)


def test_every_page_has_stripe_and_page_number(contract: RenderedDocument, tmp_path: Path) -> None:
    assert contract.page_count == len(PdfReader(io.BytesIO(contract.pdf)).pages) >= 2
    for page in range(contract.page_count):
        text = poppler_text(contract.pdf, tmp_path, page=page)
        assert f"Página {page + 1} de {contract.page_count}" in text
        assert "Documento DOC-2026-000123 · esign-pipeline" in text


def test_signature_slots_are_empty_boxes_with_names_under_them(contract: RenderedDocument, tmp_path: Path) -> None:
    assert [slot.role for slot in contract.slots] == ["company", "client"]
    company, client = contract.slot("company"), contract.slot("client")
    assert company.page == client.page == contract.page_count - 1
    page = PdfReader(io.BytesIO(contract.pdf)).pages[company.page]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    for slot in (company, client):
        assert slot.x > 0 and slot.x + slot.width < width and slot.y > 0 and slot.y + slot.height < height
        assert slot.width >= 150 and slot.height >= 50
        inside = poppler_text(contract.pdf, tmp_path, page=slot.page,
                              box=(slot.x + 2, slot.y + 2, slot.width - 4, slot.height - 4))
        assert inside.strip() == ""
    assert company.x + company.width <= client.x  # side by side, not overlapping
    under_company = poppler_text(contract.pdf, tmp_path, page=company.page,
                                 box=(company.x, company.y - 40, company.width, 40))
    under_client = poppler_text(contract.pdf, tmp_path, page=client.page, box=(client.x, client.y - 40,
                                                                                client.width, 40))
    assert "CONTRATADA" in under_company and "Acme Serviços Digitais Ltda" in under_company
    assert "Maria Aparecida Souza, Diretora Executiva" in under_company
    assert "CONTRATANTE" in under_client and "Ünïcödé Comércio e Serviços S.A." in under_client


def test_pdf_is_structurally_sound_and_fonts_embedded(contract: RenderedDocument, tmp_path: Path) -> None:
    assert qpdf_check(contract.pdf, tmp_path).returncode == 0
    path = tmp_path / "fonts.pdf"
    path.write_bytes(contract.pdf)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows and all("DejaVuSans" in row for row in rows)
    assert all(row.split()[-5] == "yes" for row in rows)  # the "emb" column


def test_markup_in_names_is_printed_literally(library: TemplateLibrary, make_deal: MakeDeal,
                                              company: Party) -> None:
    tricky = Party(name="Tom & Jerry <b>Ltda</b> </para> <font size=40>x</font>", tax_id=company.tax_id,
                   representative="R&D <i>Head</i>", representative_title="CEO")
    doc = render(library, tricky, make_deal(title="Plano <br/> & \"aspas\" 'simples'"))
    text = pdf_text(doc.pdf)
    assert "Tom & Jerry <b>Ltda</b> </para> <font size=40>x</font>" in text
    assert "Plano <br/> & \"aspas\" 'simples'" in text


def test_five_thousand_character_fields_do_not_crash(library: TemplateLibrary, company: Party,
                                                     make_deal: MakeDeal, counterparty: Party) -> None:
    huge = Party(name="N" * 5000, tax_id=counterparty.tax_id, address="Rua " + "muito longa " * 420,
                 representative="R" * 5000, email="a@b.co")
    deal = make_deal(title="T" * 5000, counterparty=huge,
                     line_items=(LineItem("D" * 5000, Decimal("1"), Decimal("1")),
                                 LineItem("palavra " * 700, Decimal("2"), Decimal("3"))))
    doc = render(library, company, deal)
    text = pdf_text(doc.pdf).replace("\n", "")
    assert "N" * 150 in text and "N" * 300 not in text  # cut to the 200-character limit
    assert "…" in text
    assert doc.page_count >= 2 and len(doc.slots) == 2


def test_emoji_rtl_and_control_characters(library: TemplateLibrary, company: Party, make_deal: MakeDeal,
                                          counterparty: Party, tmp_path: Path) -> None:
    person = Party(name="Zé\x00 da\x07 Loja 😀 שלום مرحبا 🦄", tax_id="529.982.247-25", email="ze@loja.com")
    doc = render(library, company, make_deal(counterparty=person, title="Pedido\r\n🚀 número\x1b 7"))
    text = pdf_text(doc.pdf)
    assert "\x00" not in text and "\x07" not in text and "\x1b" not in text
    assert "Zé da Loja" in text and "número 7" in text
    assert qpdf_check(doc.pdf, tmp_path).returncode == 0


def test_glyphs_missing_from_the_font_become_a_box(library: TemplateLibrary, company: Party,
                                                   make_deal: MakeDeal) -> None:
    person = Party(name="Loja \U0001f984 Unicórnio", tax_id="529.982.247-25", email="a@b.co")  # no unicorn glyph
    text = pdf_text(render(library, company, make_deal(counterparty=person)).pdf)
    assert "Loja \u25a1 Unicórnio" in text


def test_many_line_items_flow_over_pages(library: TemplateLibrary, company: Party, make_deal: MakeDeal,
                                         tmp_path: Path) -> None:
    items = tuple(LineItem(f"Item de serviço número {n}", Decimal(n), Decimal("10.00")) for n in range(1, 121))
    doc = render(library, company, make_deal(line_items=items))
    assert doc.page_count >= 4
    text = pdf_text(doc.pdf)
    assert "Item de serviço número 120" in text
    assert "R$ 72.600,00" in text  # 10 * (1 + ... + 120)
    last = poppler_text(doc.pdf, tmp_path, page=doc.page_count - 1)
    assert f"Página {doc.page_count} de {doc.page_count}" in last


def test_deal_without_items_prints_the_amount(library: TemplateLibrary, company: Party,
                                              make_deal: MakeDeal) -> None:
    text = pdf_text(render(library, company, make_deal(line_items=(), amount=Decimal("999.9"))).pdf)
    assert "Valor total do contrato: R$ 999,90." in text


def test_renderer_does_not_validate_but_does_not_crash_on_empty_party(library: TemplateLibrary,
                                                                      company: Party, make_deal: MakeDeal) -> None:
    doc = render(library, company, make_deal(counterparty=Party(name="", tax_id="")))
    assert len(doc.slots) == 2


def test_naive_issued_at_is_utc(library: TemplateLibrary, company: Party, make_deal: MakeDeal,
                                contract: RenderedDocument) -> None:
    naive = render_document(library.get("contrato_servicos"), company, make_deal(), "DOC-2026-000123",
                            datetime(2026, 11, 28, 14, 3))
    assert naive.pdf == contract.pdf


@pytest.mark.parametrize(("document_id", "reason"), [
    ("", "document_id: missing"), ("DOC\n1", "document_id: contains control"),
    ("D" * 101, "document_id: longer than 100"),
])
def test_bad_document_id(library: TemplateLibrary, company: Party, make_deal: MakeDeal, document_id: str,
                         reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        render(library, company, make_deal(), document_id=document_id)


def test_bad_issued_at(library: TemplateLibrary, company: Party, make_deal: MakeDeal) -> None:
    with pytest.raises(ValidationError, match="issued_at: must be a datetime"):
        render_document(library.get("contrato_servicos"), company, make_deal(), "D1", "2026-11-28")  # type: ignore[arg-type]


def test_non_numeric_quantity_is_a_validation_error(library: TemplateLibrary, company: Party,
                                                    make_deal: MakeDeal) -> None:
    deal = make_deal(line_items=(LineItem("x", "muitos", Decimal("1")),))  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as info:
        render(library, company, deal)
    assert info.value.field == "line_items[0].quantity"


def test_render_writes_no_files(library: TemplateLibrary, company: Party, make_deal: MakeDeal, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    render(library, company, make_deal())
    assert list(tmp_path.iterdir()) == []


def custom(tmp_path: Path, body: str, name: str = "custom") -> TemplateLibrary:
    (tmp_path / f"{name}.yaml").write_text(f"id: {name}\ntitle: Teste\nbody:\n{body}  - type: signatures\n",
                                           encoding="utf-8")
    return TemplateLibrary(tmp_path)


def test_undefined_field_is_a_render_error_naming_template_and_block(tmp_path: Path, company: Party,
                                                                     make_deal: MakeDeal) -> None:
    library = custom(tmp_path, "  - type: paragraph\n    text: \"{{ deal.titel }}\"\n")
    with pytest.raises(RenderError, match=r"template 'custom' line 5: body\[0\].text: .*titel"):
        render(library, company, make_deal(), template_id="custom")


def test_broken_static_markup_is_a_render_error(tmp_path: Path, company: Party, make_deal: MakeDeal) -> None:
    library = custom(tmp_path, "  - type: paragraph\n    text: \"<b>unclosed <font\"\n")
    with pytest.raises(RenderError, match=r"template 'custom': body\[0\]: invalid paragraph markup"):
        render(library, company, make_deal(), template_id="custom")


def test_sandbox_blocks_python_internals(tmp_path: Path, company: Party, make_deal: MakeDeal) -> None:
    library = custom(tmp_path, "  - type: paragraph\n    text: \"{{ deal.__class__.__init__.__globals__ }}\"\n")
    with pytest.raises(RenderError, match=r"body\[0\]\.text"):
        render(library, company, make_deal(), template_id="custom")


def test_english_template_and_custom_blocks(tmp_path: Path, company: Party, make_deal: MakeDeal) -> None:
    (tmp_path / "en.yaml").write_text(
        "id: en\ntitle: Service agreement\nlocale: en_US\npage_size: letter\nbody:\n"
        "  - type: heading\n    text: SERVICE AGREEMENT\n    level: 2\n"
        "  - type: parties\n"
        "  - type: items_table\n"
        "  - type: page_break\n"
        "  - type: clauses\n    items:\n      - text: \"Total {{ total|money(currency, 'en_US') }}\"\n"
        "  - type: spacer\n    height: 20\n"
        "  - type: signatures\n    text: \"Signed {{ issued_at|date('long', 'en_US') }}\"\n", encoding="utf-8")
    doc = render(TemplateLibrary(tmp_path), company, make_deal(), template_id="en")
    text = pdf_text(doc.pdf)
    assert "PROVIDER:" in text and "CLIENT" in text and "CLAUSE 1" in text
    assert "Total R$ 16,500.00" in text and "Signed November 28, 2026" in text and "Page 1 of 2" in text
    page = PdfReader(io.BytesIO(doc.pdf)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (612, 792)


def test_plain_ampersand_in_template_text_prints_as_written(tmp_path: Path, company: Party,
                                                            make_deal: MakeDeal) -> None:
    library = custom(tmp_path, "  - type: paragraph\n    text: \"P&D, R & D e A&amp;B para {{ deal.id }}\"\n")
    assert "P&D, R & D e A&B para 4711" in pdf_text(render(library, company, make_deal(),
                                                           template_id="custom").pdf)
