"""The template library: parsing once, clear errors naming the template and line, reloading on change."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from esign.errors import RenderError
from esign.render import TemplateLibrary
from tests.render.helpers import TEMPLATES_DIR

MINIMAL = """\
id: {id}
title: "Minimal {{{{ deal.title }}}}"
kind: contract
body:
  - type: heading
    text: Minimal
  - type: signatures
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(folder: Path, name: str, text: str) -> str:
    write(folder, name, text)
    with pytest.raises(RenderError) as info:
        TemplateLibrary(folder).get(name)
    return str(info.value)


def test_shipped_templates_load(library: TemplateLibrary) -> None:
    assert {"contrato_servicos", "acordo_confidencialidade"} <= set(library.ids())
    contract = library.get("contrato_servicos")
    assert contract.kind == "contract" and contract.locale == "pt_BR"
    clauses = [block for block in contract.body if block.type == "clauses"]
    assert 10 <= len(clauses[0].rows) <= 15
    nda = library.get("acordo_confidencialidade")
    assert nda.kind == "pdf" and nda.source_pdf is not None and nda.source_pdf.startswith(b"%PDF-")
    assert {slot.role for slot in nda.slots} == {"company", "client"}


def test_templates_are_parsed_once_per_process(library: TemplateLibrary) -> None:
    assert library.get("contrato_servicos") is library.get("contrato_servicos")
    assert TemplateLibrary(TEMPLATES_DIR).get("contrato_servicos") is library.get("contrato_servicos")


def test_edited_template_is_reloaded(tmp_path: Path) -> None:
    path = write(tmp_path, "mini", MINIMAL.format(id="mini"))
    library = TemplateLibrary(tmp_path)
    first = library.get("mini")
    path.write_text(MINIMAL.format(id="mini").replace("text: Minimal", "text: Changed heading"), "utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    second = library.get("mini")
    assert second is not first
    assert second.body[0].texts["text"].source == "Changed heading"


def test_unknown_template_lists_known_ones(library: TemplateLibrary) -> None:
    with pytest.raises(RenderError, match=r"template 'nope': unknown template \(known: .*contrato_servicos"):
        library.get("nope")


@pytest.mark.parametrize("bad_id", ["../etc/passwd", "", "UPPER", "a/b"])
def test_invalid_ids_are_refused(library: TemplateLibrary, bad_id: str) -> None:
    with pytest.raises(RenderError, match="invalid id"):
        library.get(bad_id)


def test_yaml_syntax_error_names_template_and_line(tmp_path: Path) -> None:
    text = MINIMAL.format(id="broken") + "  - type: paragraph\n    text: [unclosed\n"
    message = error_of(tmp_path, "broken", text)
    match = re.match(r"template 'broken' \(broken.yaml\) line (\d+): YAML syntax error", message)
    assert match is not None and int(match.group(1)) >= 9  # at or after the broken line, not line 1


def test_jinja_syntax_error_names_template_and_line(tmp_path: Path) -> None:
    text = MINIMAL.format(id="jinja") + "  - type: paragraph\n    text: \"Valor {{ deal.amount | money( }}\"\n"
    message = error_of(tmp_path, "jinja", text)
    assert message.startswith("template 'jinja' (jinja.yaml) line 9: body[2].text: syntax error")


def test_jinja_error_inside_block_scalar_counts_lines(tmp_path: Path) -> None:
    text = MINIMAL.format(id="block") + "  - type: paragraph\n    text: |\n      first line\n      {% if %}\n"
    message = error_of(tmp_path, "block", text)
    assert "line 11: body[2].text: syntax error" in message


@pytest.mark.parametrize(("text", "expected"), [
    ("- just a list\n", "line 1: the file must be a mapping"),
    ("id: other\ntitle: x\nbody: []\n", "line 1: id must equal the file name 'case'"),
    ("id: case\ntitle: x\nkind: docx\n", "line 3: kind must be one of contract, pdf"),
    ("id: case\ntitle: x\nlocale: fr_FR\n", "line 3: locale must be one of pt_BR, en_US"),
    ("id: case\nbody: []\n", "title: missing"),
    ("id: case\ntitle: x\nbody: []\n", "body: must be a non-empty list of blocks"),
    ("id: case\ntitle: x\nbody:\n  - type: headng\n    text: x\n", "line 4: body[0]: unknown block type 'headng'"),
    ("id: case\ntitle: x\nbody:\n  - type: heading\n    txt: x\n", "body[0]: unknown key(s) txt"),
    ("id: case\ntitle: x\nbody:\n  - type: paragraph\n", "body[0]: missing text"),
    ("id: case\ntitle: x\nbody:\n  - type: heading\n    text: x\n", "a contract needs exactly one signatures"),
    ("id: case\ntitle: x\nbody:\n  - type: clauses\n    items: []\n  - type: signatures\n",
     "body[0].items: must be a non-empty list"),
    ("id: case\ntitle: x\nbody:\n  - type: spacer\n    height: tall\n  - type: signatures\n",
     "body[0].height: must be a number"),
])
def test_structural_errors_are_named(tmp_path: Path, text: str, expected: str) -> None:
    message = error_of(tmp_path, "case", text)
    assert message.startswith("template 'case' (case.yaml)")
    assert expected in message


def test_undecodable_file_is_a_render_error(tmp_path: Path) -> None:
    (tmp_path / "latin.yaml").write_bytes("id: latin\ntitle: Prestação\n".encode("latin-1"))
    with pytest.raises(RenderError, match=r"template 'latin' .*cannot be read"):
        TemplateLibrary(tmp_path).get("latin")


def pdf_template(source: str, slots: str = "") -> str:
    return f"id: nda\ntitle: NDA\nkind: pdf\nsource: {source}\n{slots}"


def test_pdf_template_source_must_exist(tmp_path: Path) -> None:
    assert "source: cannot read 'missing.pdf'" in error_of(tmp_path, "nda", pdf_template("missing.pdf"))


def test_pdf_template_source_must_stay_inside_the_folder(tmp_path: Path) -> None:
    inner = tmp_path / "templates"
    inner.mkdir()
    (tmp_path / "secret.pdf").write_bytes(b"%PDF-1.4")
    assert "outside the templates folder" in error_of(inner, "nda", pdf_template("../secret.pdf"))


def test_pdf_template_needs_a_source(tmp_path: Path) -> None:
    assert "source: missing" in error_of(tmp_path, "nda", "id: nda\ntitle: NDA\nkind: pdf\n")


@pytest.mark.parametrize(("slots", "expected"), [
    ("slots:\n  - {role: company, page: -1, x: 1, y: 1, width: 10, height: 10}\n", "exactly one company and one"),
    ("slots:\n  - {role: boss, page: 0, x: 1, y: 1, width: 10, height: 10}\n", "slots[0].role: must be one of"),
    ("slots:\n  - {role: company, page: 0, x: 1, y: 1, width: wide, height: 10}\n", "must be numbers"),
    ("slots:\n  - {role: company, page: 0, x: 1, y: 1, width: -5, height: 10}\n", "width and height > 0"),
    ("slots: {role: company}\n", "slots: must be a list"),
])
def test_pdf_template_slot_errors(tmp_path: Path, slots: str, expected: str) -> None:
    shutil.copy(TEMPLATES_DIR / "acordo_confidencialidade.pdf", tmp_path / "doc.pdf")
    assert expected in error_of(tmp_path, "nda", pdf_template("doc.pdf", slots))


def test_ids_ignore_other_files(tmp_path: Path) -> None:
    write(tmp_path, "mini", MINIMAL.format(id="mini"))
    (tmp_path / "README.md").write_text("docs")
    (tmp_path / "sample.pdf").write_bytes(b"%PDF-1.4")
    assert TemplateLibrary(tmp_path).ids() == ["mini"]
    assert TemplateLibrary(tmp_path / "absent").ids() == []


def test_a_template_may_declare_its_signing_order(tmp_path: Path) -> None:
    write(tmp_path, "both", MINIMAL.format(id="both") + "signing_order: parallel\n")
    write(tmp_path, "plain", MINIMAL.format(id="plain"))
    library = TemplateLibrary(tmp_path)
    assert library.get("both").signing_order == "parallel"
    assert library.get("plain").signing_order == ""  # the pipeline's signers.order applies
    message = error_of(tmp_path, "bad", MINIMAL.format(id="bad") + "signing_order: random\n")
    assert "line 8: signing_order must be one of sequential, parallel, got 'random'" in message
