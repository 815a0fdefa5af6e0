"""Reading deals: the chained fast export, fetching a range with everything it points to, deleted deals."""

from __future__ import annotations

import json
from decimal import Decimal

from esign.crm.bitrix24 import Bitrix24Crm
from tests.crm.bitrix24.conftest import FakeClock, fill
from tests.crm.bitrix24.fake_portal import FakePortal, parse_php_query


def _batch_commands(portal: FakePortal) -> list[dict[str, str]]:
    return [entry.body["cmd"] for entry in portal.log if entry.method == "batch"]


def test_export_of_5321_deals_reads_every_id_once_in_order_in_3_requests(
        portal: FakePortal, client: Bitrix24Crm, clock: FakeClock) -> None:
    ids = fill(portal, 5321)
    got = list(client.iter_deal_ids("C1:PREPARATION"))
    assert got == ids  # every ID once, ascending, none of the other stage's deals
    assert len(portal.log) == 3 == -(-5321 // 2500)
    assert client.transport.requests == 3
    assert clock.sleeps == []  # 3 requests fit in the burst
    first = _batch_commands(portal)[0]
    assert len(first) == 50
    cmd0, cmd1 = parse_php_query(first["cmd_0"].split("?", 1)[1]), parse_php_query(first["cmd_1"].split("?", 1)[1])
    assert cmd0["start"] == "-1" and cmd0["order"] == {"ID": "ASC"} and cmd0["select"] == ["ID"]
    assert cmd0["filter"] == {"STAGE_ID": "C1:PREPARATION"}
    assert cmd1["filter"][">ID"] == "$result[cmd_0][49][ID]"
    second = parse_php_query(_batch_commands(portal)[1]["cmd_0"].split("?", 1)[1])
    assert second["filter"][">ID"] == str(ids[2499])  # the next request goes on from the last ID read


def test_export_stops_at_the_first_short_page_even_when_later_commands_restart(
        portal: FakePortal, client: Bitrix24Crm) -> None:
    ids = fill(portal, 100)  # pages of 50, 50, 0: cmd_3's reference cannot resolve and the portal ignores it
    assert list(client.iter_deal_ids("C1:PREPARATION")) == ids
    assert len(portal.log) == 1


def test_export_of_exactly_one_full_batch_needs_one_more_request(portal: FakePortal, client: Bitrix24Crm) -> None:
    ids = fill(portal, 2500, other_every=0)
    assert list(client.iter_deal_ids("C1:PREPARATION")) == ids
    assert len(portal.log) == 2


def test_limit_asks_only_for_the_pages_it_needs(portal: FakePortal, client: Bitrix24Crm) -> None:
    ids = fill(portal, 400)
    assert list(client.iter_deal_ids("C1:PREPARATION", limit=120)) == ids[:120]
    assert len(_batch_commands(portal)[0]) == 3
    assert list(client.iter_deal_ids("C1:PREPARATION", limit=0)) == []
    assert list(client.iter_deal_ids("C1:NOTHING")) == []


def test_fetch_deals_normalises_a_range_with_companies_contacts_managers_and_items(
        portal: FakePortal, client: Bitrix24Crm) -> None:
    ids = fill(portal, 120)
    portal.product_rows[ids[0]] = [
        {"ID": 1, "OWNER_ID": ids[0], "PRODUCT_NAME": "Consultoria", "PRICE": 0.1, "QUANTITY": 3},
        {"ID": 2, "OWNER_ID": ids[0], "PRODUCT_NAME": "Licença", "PRICE": 1999.99, "QUANTITY": 1}]
    fetched = client.fetch_deals("C1:PREPARATION", ids[0], ids[-1])
    assert [f.deal_id for f in fetched] == ids
    first = fetched[0]
    assert first.problems == ()
    deal = first.deal
    assert deal.amount == Decimal("1000.00") and deal.currency == "BRL" and deal.category_id == "1"
    assert deal.title == f"Contrato {ids[0]}" and deal.stage_id == "C1:PREPARATION"
    party = deal.counterparty
    assert party.name == "Empresa 5000 Ltda." and party.tax_id == "11.222.333/0001-81"
    assert party.address == "Rua Augusta, 1500, São Paulo, SP"
    assert party.representative == "Márcia Souza 0" and party.representative_title == "Diretora"
    assert party.email == "marcia0@empresa.example.com"  # WORK preferred over the first (HOME)
    assert party.phone == "+5511987654321"  # no WORK phone: the first one
    assert deal.manager is not None
    assert (deal.manager.name, deal.manager.department) == ("Júlio Monteiro", "Vendas SP")
    assert fetched[1].deal.manager is not None and fetched[1].deal.manager.department == ""
    assert [(i.description, i.quantity, i.unit_price) for i in deal.line_items] == [
        ("Consultoria", Decimal(3), Decimal("0.1")), ("Licença", Decimal(1), Decimal("1999.99"))]
    assert fetched[57].deal.amount == Decimal("1057.57")

    span = ids[-1] - ids[0] + 1
    assert len(_batch_commands(portal)[0]) == -(-span // 50)  # no list commands beyond the ID range
    gets = [c.split("?", 1)[0] for cmds in _batch_commands(portal) for c in cmds.values()]
    assert gets.count("crm.company.get") == 40  # 120 deals share 40 companies: each asked for once
    assert gets.count("crm.contact.get") == 120
    assert gets.count("user.get") == 2 and gets.count("department.get") == 1
    assert all(len(cmds) <= 50 for cmds in _batch_commands(portal))
    # 1 list + 5 detail (240 commands) + 1 company + 3 contact + 1 user + 1 department request
    assert len(portal.log) == 12
    before = len(portal.log)
    client.fetch_deals("C1:PREPARATION", ids[0], ids[9])
    assert "user.get" not in str([e.body for e in portal.log[before:]])  # managers are cached


def test_nulls_dangling_links_and_bad_numbers_become_problems(portal: FakePortal, client: Bitrix24Crm) -> None:
    portal.add_deal(1, OPPORTUNITY=None, COMPANY_ID="0", CONTACT_ID=None, ASSIGNED_BY_ID=None, TITLE=None)
    portal.add_deal(2, OPPORTUNITY="12,50", COMPANY_ID="777", CONTACT_ID="888")
    portal.deal_contacts[2] = [{"CONTACT_ID": 888, "SORT": 10, "ROLE_ID": 0, "IS_PRIMARY": "Y"}]
    portal.add_deal(3, OPPORTUNITY="99.90", COMPANY_ID=None, CONTACT_ID="5")  # person, primary from the bindings
    portal.contacts[5] = {"ID": "5", "NAME": "Ana", "LAST_NAME": "Lima", "UF_CRM_CPF": "529.982.247-25",
                          "EMAIL": [], "PHONE": None}
    portal.contacts[6] = {"ID": "6", "NAME": "Bruno", "LAST_NAME": "Reis", "UF_CRM_CPF": "111.444.777-35",
                          "EMAIL": [{"VALUE_TYPE": "WORK", "VALUE": "bruno@example.com"}], "PHONE": None}
    portal.deal_contacts[3] = [{"CONTACT_ID": 5, "SORT": 20, "ROLE_ID": 0, "IS_PRIMARY": "N"},
                               {"CONTACT_ID": 6, "SORT": 10, "ROLE_ID": 0, "IS_PRIMARY": "Y"}]
    by_id = {f.deal_id: f for f in client.fetch_deals("C1:PREPARATION", 1, 3)}
    assert by_id[1].problems == ("amount: missing", "counterparty: the deal has no company and no contact")
    assert by_id[1].deal.title == "" and by_id[1].deal.manager is None
    assert by_id[2].problems == ("amount: not a number ('12,50')", "contact: #888 not found",
                                 "company: #777 not found")
    assert by_id[3].problems == ()
    assert by_id[3].deal.counterparty.name == "Bruno Reis"  # IS_PRIMARY wins over CONTACT_ID
    assert by_id[3].deal.counterparty.email == "bruno@example.com"


def test_a_deal_deleted_between_list_and_fetch_is_simply_absent(portal: FakePortal, client: Bitrix24Crm) -> None:
    ids = fill(portal, 30)
    listed = list(client.iter_deal_ids("C1:PREPARATION"))
    del portal.deals[ids[4]]
    fetched = client.fetch_deals("C1:PREPARATION", listed[0], listed[-1])
    assert [f.deal_id for f in fetched] == [i for i in ids if i != ids[4]]


def test_a_deal_deleted_while_its_details_are_read_is_absent(portal: FakePortal, client: Bitrix24Crm) -> None:
    ids = fill(portal, 10)
    victim = ids[3]

    def delete_after_list(method: str, _params: dict[str, object]) -> None:
        if method == "crm.deal.list":
            portal.deals.pop(victim, None)

    portal.after_call = delete_after_list
    fetched = client.fetch_deals("C1:PREPARATION", ids[0], ids[-1])
    assert [f.deal_id for f in fetched] == [i for i in ids if i != victim]
    errors = [e.body for e in portal.log if e.method == "batch"]
    assert errors  # the detail batch answered 200 with a per-command "Not found" for the victim
    assert client.get_deal_stage(victim) is None


def test_get_deal_stage(portal: FakePortal, client: Bitrix24Crm) -> None:
    portal.add_deal(42, STAGE_ID="C1:EXECUTING")
    assert client.get_deal_stage(42) == "C1:EXECUTING"
    assert client.get_deal_stage(43) is None
    body = json.dumps(portal.log[0].body)
    assert body == '{"id": 42}'
