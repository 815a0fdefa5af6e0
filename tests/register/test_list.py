"""The list and its API: Portuguese labels, manager names, batches as date + run, filters by label, accent-free
search, checked dates, paging."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from esign.model import Stage
from esign.store.schema import documents
from tests.register.conftest import Desk


def _ids(html: str) -> set[str]:
    return set(re.findall(r'<tr data-id="(DOC-[0-9A-Z]+)"', html))


def test_rows_read_in_portuguese_with_names_and_batch_labels(desk: Desk) -> None:
    client = desk.client("dir")
    page = client.get("/staff/").text
    assert ">Enviado<" in page and ">Concluído<" in page
    assert ">sent<" not in page and ">completed<" not in page
    with desk.pipe.ws.engine.connect() as conn:
        from esign.crm.local_schema import crm_managers

        names = {str(r.id): r.name for r in conn.execute(crm_managers.select())}
    assert names[str(desk.mine.manager_id)] in page
    assert "execução manual · lote 1" in page and ">manual__2026" not in page
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d \(UTC-03:00\) · execução manual · lote \d", page)
    rows = client.get("/staff/api/documents").json()["items"]
    mine = next(r for r in rows if r["id"] == desk.mine.id)
    assert mine["manager"] == names[str(desk.mine.manager_id)] and mine["stage"] == "sent"
    assert "execução manual · lote" in mine["batch_label"]


def test_filters_by_stage_label_manager_run_and_template(desk: Desk) -> None:
    client = desk.client("dir")
    every = _ids(client.get("/staff/").text)
    sent = {r.id for r in desk.sent()}
    for stage in ("sent", "Enviado", "enviado", "ENVIADO"):
        assert _ids(client.get("/staff/", params={"stage": stage}).text) == sent, stage
    assert _ids(client.get("/staff/", params={"stage": "Concluído"}).text) == {desk.done.id}
    assert _ids(client.get("/staff/", params={"stage": "concluido"}).text) == {desk.done.id}
    unknown = client.get("/staff/", params={"stage": "Voando"})
    assert unknown.status_code == 400 and "Etapa: nenhuma etapa se chama “Voando”." in unknown.text
    assert _ids(unknown.text) == set()
    by_manager = _ids(client.get("/staff/", params={"manager": desk.mine.manager_id}).text)
    assert desk.mine.id in by_manager and desk.other.id not in by_manager
    assert _ids(client.get("/staff/", params={"run": "manual__2026-12-04T18:11:01.682221+00:00"}).text) == every
    assert _ids(client.get("/staff/", params={"run": "another-run"}).text) == set()
    assert _ids(client.get("/staff/", params={"template": desk.mine.template_id}).text) == every
    assert _ids(client.get("/staff/", params={"batch": desk.mine.batch_id}).text) >= {desk.mine.id}
    assert _ids(client.get("/staff/", params={"deal": desk.mine.deal_id}).text) == {desk.mine.id}


def test_search_ignores_accents_and_case_and_finds_tax_ids_only_where_allowed(desk: Desk) -> None:
    engine = desk.pipe.ws.engine
    with engine.begin() as conn:
        conn.execute(update(documents).where(documents.c.id == desk.mine.id)
                     .values(counterparty_name="Transportes Leão & Irmãos Ltda.",
                             counterparty_tax_id="11.222.333/0001-81"))
    dir_client, reader = desk.client("dir"), desk.client("leitor")
    for term in ("leao", "LEÃO", "irmaos", "Leão & Irm"):
        assert _ids(dir_client.get("/staff/", params={"q": term}).text) == {desk.mine.id}, term
    assert _ids(dir_client.get("/staff/", params={"q": "11222333"}).text) == {desk.mine.id}
    assert _ids(dir_client.get("/staff/", params={"q": "11.222.333/0001-81"}).text) == {desk.mine.id}
    assert _ids(dir_client.get("/staff/", params={"q": desk.mine.id.lower()}).text) == {desk.mine.id}
    # the Analyst views every document but not the parties' data: searching by CPF/CNPJ reveals nothing
    assert _ids(reader.get("/staff/", params={"q": "leao"}).text) == {desk.mine.id}
    assert _ids(reader.get("/staff/", params={"q": "11222333"}).text) == set()
    assert _ids(dir_client.get("/staff/", params={"q": "50%_"}).text) == set()  # wildcards are literal


def test_dates_are_checked_and_read_in_the_company_zone(desk: Desk) -> None:
    client = desk.client("dir")
    bad = client.get("/staff/", params={"from": "31/02/2026"})
    assert bad.status_code == 400
    assert "Criado a partir de: “31/02/2026” não é uma data; escreva como DD/MM/AAAA." in bad.text
    assert 'aria-invalid="true"' in bad.text and _ids(bad.text) == set()
    backwards = client.get("/staff/", params={"from": "2026-03-02", "to": "2026-03-01"})
    assert backwards.status_code == 400
    assert "Criado até: 01/03/2026 é anterior à data inicial 02/03/2026." in backwards.text
    api = client.get("/staff/api/documents", params={"to": "ontem"})
    assert api.status_code == 400 and set(api.json()["fields"]) == {"to"}
    # 01:30 UTC on the 5th is still the 4th in São Paulo
    with desk.pipe.ws.engine.begin() as conn:
        conn.execute(update(documents).where(documents.c.id == desk.mine.id)
                     .values(created_at=datetime(2026, 1, 5, 1, 30, tzinfo=UTC)))
    assert _ids(client.get("/staff/", params={"from": "04/01/2026", "to": "04/01/2026"}).text) == {desk.mine.id}
    assert _ids(client.get("/staff/", params={"from": "2026-01-05", "to": "2026-01-05"}).text) == set()


def test_paging_of_the_list_and_the_api(desk: Desk) -> None:
    ledger = desk.pipe.ws.ledger
    base = datetime.now(UTC) - timedelta(days=30)
    created = []
    for n in range(60):
        doc, _ = ledger.create_document(deal_id=f"P{n}", template_id="contrato_servicos", title=f"Contrato {n}",
                                        counterparty_name=f"Cliente {n:02d}", manager_id=desk.mine.manager_id)
        created.append(doc.id)
    with desk.pipe.ws.engine.begin() as conn:
        for n, doc_id in enumerate(created):
            conn.execute(update(documents).where(documents.c.id == doc_id).values(created_at=base + timedelta(hours=n)))
    client = desk.client("dir")
    first = client.get("/staff/", params={"per_page": "25", "stage": "draft"})
    assert len(_ids(first.text)) == 25 and "Página 1 de 3" in first.text and 'rel="next"' in first.text
    last = client.get("/staff/", params={"per_page": "25", "stage": "draft", "page": "3"})
    assert len(_ids(last.text)) == 10 and 'rel="prev"' in last.text and 'rel="next"' not in last.text
    beyond = client.get("/staff/", params={"per_page": "25", "stage": "draft", "page": "9"})
    assert _ids(beyond.text) == _ids(last.text)  # past the end: the last page
    seen: list[str] = []
    url: str | None = "/staff/api/documents?stage=draft&per_page=25"
    while url:
        body = client.get(url).json()
        assert body["total"] == 60 and body["pages"] == 3
        seen += [item["id"] for item in body["items"]]
        url = body["next"]
    assert len(seen) == 60 and set(seen) == set(created)
    assert seen == sorted(seen, key=lambda i: created.index(i), reverse=True)  # newest first, no overlap
    odd = client.get("/staff/api/documents", params={"per_page": "7", "page": "x"})
    assert odd.status_code == 400 and set(odd.json()["fields"]) == {"per_page", "page"}
    everything = sum(desk.pipe.ws.ledger.stage_counts().values())
    assert client.get("/staff/api/documents").json()["total"] == everything == 60 + 12


def test_the_stage_codes_of_the_api_stay_codes(desk: Desk) -> None:
    client = desk.client("dir")
    stages = {item["stage"] for item in client.get("/staff/api/documents").json()["items"]}
    assert stages <= {s.value for s in Stage} and "completed" in stages
