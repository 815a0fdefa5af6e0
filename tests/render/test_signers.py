"""Several signers: one block per signing person (client signers, second company signer, numbered witnesses)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from esign.errors import RenderError, ValidationError
from esign.model import Deal, Party, SignerRole, SignerSide, SignerSpec, SigningOrder
from esign.model.signers import arrange
from esign.render import RenderedDocument, TemplateLibrary, render_document
from tests.render.helpers import ISSUED_AT, poppler_text, qpdf_check, simple_pdf

MakeDeal = Callable[..., Deal]


def many_signers(*, company_signer: bool = True) -> tuple[SignerSpec, ...]:
    """Two client signers, two witnesses, (a second company signer,) and a copy recipient, arranged."""
    people = [SignerSpec(1, SignerRole.SIGNER, "João da Silva", "52998224725", email="joao@example.com"),
              SignerSpec(2, SignerRole.SIGNER, "Ana Pereira", "11144477735", email="ana@example.com"),
              SignerSpec(3, SignerRole.WITNESS, "Carlos Lima", "39053344705", email="carlos@example.com"),
              SignerSpec(4, SignerRole.WITNESS, "Beatriz Costa", "15350946056", email="bia@example.com"),
              SignerSpec(6, SignerRole.COPY, "Jurídico Cliente", email="juridico@example.com")]
    if company_signer:
        people.append(SignerSpec(5, SignerRole.SIGNER, "Pedro Gomes", "28625587887", email="pedro@acme.com.br",
                                 side=SignerSide.COMPANY))
    return arrange(people, SigningOrder.SEQUENTIAL, company="after")


def render(library: TemplateLibrary, template_id: str, company: Party, deal: Deal,
           signers: tuple[SignerSpec, ...] = ()) -> RenderedDocument:
    return render_document(library.get(template_id), company, deal, "DOC-MANY-1", ISSUED_AT, signers=signers)


def under(doc: RenderedDocument, role: str, tmp_path: Path, depth: float = 48) -> str:
    """The text printed just under one block (its captions) and left of its line (a witness's number)."""
    slot = doc.slot(role)
    return " ".join(poppler_text(doc.pdf, tmp_path, page=slot.page,
                                 box=(slot.x - 16, slot.y - depth, slot.width + 16, depth + 8)).split())


def test_contract_draws_one_block_per_signing_person(library: TemplateLibrary, company: Party,
                                                     make_deal: MakeDeal, tmp_path: Path) -> None:
    doc = render(library, "contrato_servicos", company, make_deal(), many_signers())
    assert sorted(s.role for s in doc.slots) == sorted(
        ["company", "client", "client_2", "company_2", "witness_1", "witness_2"])
    assert doc.slots[0].role == "company"
    for slot in doc.slots:  # every box is empty, ready for its signature
        assert poppler_text(doc.pdf, tmp_path, page=slot.page, box=(slot.x + 2, slot.y + 2, slot.width - 4,
                                                                    slot.height - 4)).strip() == ""
    assert "João da Silva" in under(doc, "client", tmp_path) and "CPF 529.982.247-25" in under(doc, "client",
                                                                                                tmp_path)
    assert "em nome de Ünïcödé" in under(doc, "client", tmp_path)
    assert "Ana Pereira" in under(doc, "client_2", tmp_path) and "111.444.777-35" in under(doc, "client_2", tmp_path)
    assert "Pedro Gomes" in under(doc, "company_2", tmp_path)
    assert "em nome de Acme Serviços Digitais Ltda" in under(doc, "company_2", tmp_path)
    assert under(doc, "witness_1", tmp_path).startswith("1. Nome: Carlos Lima CPF: 390.533.447-05")
    assert under(doc, "witness_2", tmp_path).startswith("2. Nome: Beatriz Costa CPF: 153.509.460-56")
    text = poppler_text(doc.pdf, tmp_path)
    assert "Testemunhas:" in text
    assert "Jurídico Cliente" not in text  # a copy recipient signs nothing
    left = {doc.slot("company").x, doc.slot("company_2").x}
    right = {doc.slot("client").x, doc.slot("client_2").x}
    assert len(left) == len(right) == 1 and max(left) < min(right)  # company side left, client side right
    assert qpdf_check(doc.pdf, tmp_path).returncode == 0


def test_one_signer_keeps_the_two_block_layout(library: TemplateLibrary, company: Party,
                                               make_deal: MakeDeal) -> None:
    alone = arrange([SignerSpec(1, SignerRole.SIGNER, "João da Silva", "52998224725")], SigningOrder.PARALLEL)
    plain = render(library, "contrato_servicos", company, make_deal())
    assert render(library, "contrato_servicos", company, make_deal(), alone).pdf == plain.pdf
    assert [s.role for s in plain.slots] == ["company", "client"]


def test_witnesses_only_and_same_bytes_twice(library: TemplateLibrary, company: Party, make_deal: MakeDeal,
                                             tmp_path: Path) -> None:
    signers = many_signers(company_signer=False)
    first = render(library, "contrato_servicos", company, make_deal(), signers)
    assert first.pdf == render(library, "contrato_servicos", company, make_deal(), signers).pdf
    assert sorted(s.role for s in first.slots) == ["client", "client_2", "company", "witness_1", "witness_2"]


def contract_template(folder: Path, text: str) -> TemplateLibrary:
    folder.mkdir(exist_ok=True)
    (folder / "multi.yaml").write_text(
        "id: multi\ntitle: Multi\nkind: contract\nbody:\n"
        f"  - type: paragraph\n    text: \"{text}\"\n  - type: signatures\n", encoding="utf-8")
    return TemplateLibrary(folder)


def test_templates_name_the_signers(company: Party, make_deal: MakeDeal, tmp_path: Path) -> None:
    library = contract_template(tmp_path / "t", "Testemunhas: {% for w in witnesses %}{{ w.name }} "
                                                "({{ w.tax_id|cpf_cnpj }}); {% endfor %}Assinam "
                                                "{{ client_signers|length }} e {{ company_signers|length }}; "
                                                "{{ signers|length }} pessoas.")
    doc = render(library, "multi", company, make_deal(), many_signers())
    text = " ".join(poppler_text(doc.pdf, tmp_path).split())
    assert "Testemunhas: Carlos Lima (390.533.447-05); Beatriz Costa (153.509.460-56); Assinam 2 e 1; 5 pessoas." \
        in text


def test_bad_signer_blocks_are_refused(library: TemplateLibrary, company: Party, make_deal: MakeDeal) -> None:
    unnamed = (SignerSpec(1, SignerRole.SIGNER, "João da Silva", "52998224725"),)  # not arranged: no block
    with pytest.raises(ValidationError, match=r"signers\[1\].slot: not a signature block name"):
        render(library, "contrato_servicos", company, make_deal(), unnamed)
    twice = (SignerSpec(1, SignerRole.SIGNER, "A", slot="client"), SignerSpec(2, SignerRole.SIGNER, "B",
                                                                              slot="client"))
    with pytest.raises(ValidationError, match=r"signers\[2\].slot: block 'client' is taken"):
        render(library, "contrato_servicos", company, make_deal(), twice)


# -- existing PDFs ----------------------------------------------------------------------------------------------
def pdf_library(tmp_path: Path, slots: str) -> TemplateLibrary:
    folder = tmp_path / "pdf-templates"
    folder.mkdir(exist_ok=True)
    (folder / "doc.pdf").write_bytes(simple_pdf(pages=1))
    (folder / "doc.yaml").write_text(f"id: doc\ntitle: Doc\nkind: pdf\nsource: doc.pdf\nslots:\n{slots}",
                                     encoding="utf-8")
    return TemplateLibrary(folder)


TWO_SLOTS = ("  - {role: company, page: -1, x: 60, y: 200, width: 200, height: 60}\n"
             "  - {role: client, page: -1, x: 320, y: 200, width: 200, height: 60}\n")
WITNESS_SLOTS = ("  - {role: witness_1, page: -1, x: 60, y: 80, width: 200, height: 50}\n"
                 "  - {role: witness_2, page: -1, x: 320, y: 80, width: 200, height: 50}\n")


def test_existing_pdf_gets_a_page_for_the_blocks_it_does_not_place(company: Party, make_deal: MakeDeal,
                                                                   tmp_path: Path) -> None:
    doc = render(pdf_library(tmp_path, TWO_SLOTS), "doc", company, make_deal(), many_signers())
    assert doc.page_count == 2
    placed = {s.role: s.page for s in doc.slots}
    assert placed == {"company": 0, "client": 0, "client_2": 1, "company_2": 1, "witness_1": 1, "witness_2": 1}
    assert (doc.slot("client").x, doc.slot("client").y) == (320.0, 200.0)
    assert "João da Silva" in under(doc, "client", tmp_path)  # the placed block names its signer
    assert under(doc, "witness_2", tmp_path).startswith("2. Nome: Beatriz Costa")
    assert "Página 2 de 2" in poppler_text(doc.pdf, tmp_path, page=1)
    assert qpdf_check(doc.pdf, tmp_path).returncode == 0


def test_existing_pdf_places_declared_witness_blocks(company: Party, make_deal: MakeDeal, tmp_path: Path) -> None:
    library = pdf_library(tmp_path, TWO_SLOTS + WITNESS_SLOTS)
    signers = tuple(s for s in many_signers(company_signer=False) if s.slot != "client_2")
    doc = render(library, "doc", company, make_deal(), signers)
    assert doc.page_count == 1
    assert {s.role for s in doc.slots} == {"company", "client", "witness_1", "witness_2"}
    assert (doc.slot("witness_1").x, doc.slot("witness_1").y) == (60.0, 80.0)
    assert "Nome: Carlos Lima" in under(doc, "witness_1", tmp_path, depth=30)
    alone = render(library, "doc", company, make_deal())  # no witnesses: their places stay empty
    assert [s.role for s in alone.slots] == ["company", "client"]
    assert "Nome:" not in poppler_text(alone.pdf, tmp_path)


@pytest.mark.parametrize(("slots", "expected"), [
    ("  - {role: witness_0, page: 0, x: 1, y: 1, width: 10, height: 10}\n", "slots[2].role: must be one of"),
    ("  - {role: client_1, page: 0, x: 1, y: 1, width: 10, height: 10}\n", "slots[2].role: must be one of"),
    ("  - {role: witness_1, page: 0, x: 1, y: 1, width: 10, height: 10}\n"
     "  - {role: witness_1, page: 0, x: 1, y: 1, width: 10, height: 10}\n", "witness_1 placed more than once"),
])
def test_declared_slot_names_are_checked(tmp_path: Path, slots: str, expected: str) -> None:
    with pytest.raises(RenderError, match="line") as err:
        pdf_library(tmp_path, TWO_SLOTS + slots).get("doc")
    assert expected in str(err.value)
