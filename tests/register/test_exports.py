"""What leaves the register as files: the CSV of a search (safe in a spreadsheet) and the ZIP of signed PDFs
(with what was left out, and why), both within the person's rights."""

from __future__ import annotations

import csv
import io
import zipfile

from sqlalchemy import update

from esign.store.schema import documents
from tests.register.conftest import Desk, csrf_of


def _csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: spreadsheets read the accents right
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_csv_export_follows_the_filters_in_portuguese_and_defuses_formulas(desk: Desk) -> None:
    with desk.pipe.ws.engine.begin() as conn:
        conn.execute(update(documents).where(documents.c.id == desk.mine.id)
                     .values(counterparty_name='=HYPERLINK("http://evil.example","clique")', title="@SUM(1+1)"))
    client = desk.client("dir")
    response = client.get("/staff/export.csv", params={"stage": "enviado"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert 'filename="documentos-' in response.headers["content-disposition"]
    rows = _csv(response.content)
    assert rows[0][:5] == ["Documento", "Negócio", "Título", "Contraparte", "CPF/CNPJ"]
    body = {row[0]: row for row in rows[1:]}
    assert set(body) == {r.id for r in desk.sent()}
    mine = body[desk.mine.id]
    assert mine[3] == "'=HYPERLINK(\"http://evil.example\",\"clique\")" and mine[2] == "'@SUM(1+1)"
    assert mine[7] == "Enviado" and "execução manual · lote" in mine[9] and mine[10]
    assert mine[4] and mine[5]  # the Director sees the parties' data
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    reader = desk.client("leitor")
    hidden = {row[0]: row for row in _csv(reader.get("/staff/export.csv").content)[1:]}
    assert hidden[desk.mine.id][4:7] == ["", "", ""]  # no CPF/CNPJ or contacts without parties.view
    bad = client.get("/staff/export.csv", params={"from": "amanhã"})
    assert bad.status_code == 400 and "não é uma data" in bad.text


def test_zip_holds_the_signed_pdfs_it_may_and_lists_the_others_with_why(desk: Desk) -> None:
    client = desk.client("dir")
    response = client.post("/staff/download.zip", data={"csrf": csrf_of(client.get("/staff/").text),
                                                        "doc": [desk.done.id, desk.mine.id]})
    assert response.status_code == 200 and response.headers["x-included"] == "1"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == sorted([f"{desk.done.id}.pdf", "nao-incluidos.txt"])
    assert archive.read(f"{desk.done.id}.pdf").startswith(b"%PDF")
    note = archive.read("nao-incluidos.txt").decode()
    assert desk.mine.id in note and "só um documento concluído tem o PDF final assinado" in note
    assert any(e.action == "downloaded" for e in desk.pipe.ws.ledger.events(desk.done.id))


def test_nothing_to_download_is_a_page_with_the_reasons(desk: Desk) -> None:
    client = desk.client("emp")
    response = client.post("/staff/download.zip", data={"csrf": csrf_of(client.get("/staff/").text),
                                                        "doc": [desk.mine.id, desk.other.id]})
    assert response.status_code == 409 and response.headers["content-type"].startswith("text/html")
    assert "Nada para baixar" in response.text and response.text.count("<li data-id=") == 2
    assert "Seu perfil não permite" in response.text


def test_downloads_need_the_parties_right(desk: Desk) -> None:
    reader = desk.client("leitor")  # Analyst: views every document, not the parties' data
    page = reader.get(f"/staff/documents/{desk.done.id}").text
    assert 'id="no-download"' in page and f"/staff/documents/{desk.done.id}/files/final" not in page
    assert "CPF/CNPJ" not in page.split('id="facts"')[1].split("</dl>")[0]
    refused = reader.get(f"/staff/documents/{desk.done.id}/files/final")
    assert refused.status_code == 403
    assert "falta o direito de ver os dados das partes (CPF/CNPJ, contatos)" in refused.text
    archive = reader.post("/staff/download.zip", data={"csrf": csrf_of(reader.get("/staff/").text),
                                                       "doc": [desk.done.id]})
    assert archive.status_code == 409 and "ver os dados das partes" in archive.text
    director = desk.client("dir")
    assert director.get(f"/staff/documents/{desk.done.id}/files/final").content.startswith(b"%PDF")
