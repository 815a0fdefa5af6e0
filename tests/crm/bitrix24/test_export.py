"""Reading deals: the chained fast export, fetching a range with everything it points to, deleted deals."""

from __future__ import annotations

import json
from decimal import Decimal

from esign.crm.bitrix24 import Bitrix24Crm
from tests.crm.bitrix24.conftest import FakeClock, fill
from tests.crm.bitrix24.fake_portal import FakePortal, parse_php_query


def _batch_commands(portal: FakePortal) -> list[dict[str, str]]:
    return [entry.body["cmd"] for entry in portal.log if entry.method == "batch"]


def test_export_of_5321_deals_counts_once_then_chains_exactly_the_pages_left(
        portal: FakePortal, client: Bitrix24Crm, clock: FakeClock) -> None:
    ids = fill(portal, 5321)
    got = list(client.iter_deal_ids("C1:PREPARATION"))
    assert got == ids  # every ID once, ascending, none of the other stage's deals
    # one counted page (50 rows and the total), then 5271 rows = 106 chained pages, 50 per request
    assert [e.method for e in portal.log] == ["crm.deal.list", "batch", "batch", "batch"]
    assert client.transport.requests == 4
    assert portal.commands.count("crm.deal.list") == 1 + 106 == -(-5321 // 50)  # no command beyond the data
    assert clock.sleeps == []  # 4 requests fit in the burst
    counted = portal.log[0].body
    assert counted["start"] == 0 and counted["order"] == {"ID": "ASC"} and counted["select"] == ["ID"]
    first = _batch_commands(portal)[0]
    assert len(first) == 50
    cmd0, cmd1 = parse_php_query(first["cmd_0"].split("?", 1)[1]), parse_php_query(first["cmd_1"].split("?", 1)[1])
    assert cmd0["start"] == "-1" and cmd0["filter"] == {"STAGE_ID": "C1:PREPARATION", ">ID": str(ids[49])}
    assert cmd1["filter"][">ID"] == "$result[cmd_0][49][ID]"
    second = parse_php_query(_batch_commands(portal)[1]["cmd_0"].split("?", 1)[1])
    assert second["filter"][">ID"] == str(ids[2549])  # the next request goes on from the last ID read
    assert len(_batch_commands(portal)[2]) == 6


def test_a_small_stage_costs_one_request_and_one_command(portal: FakePortal, client: Bitrix24Crm) -> None:
    ids = fill(portal, 20)
    assert list(client.iter_deal_ids("C1:PREPARATION")) == ids
    assert portal.methods() == ["crm.deal.list"] and portal.commands == ["crm.deal.list"]
    assert list(client.iter_deal_ids("C1:NOTHING")) == []
    assert portal.commands == ["crm.deal.list"] * 2


def test_export_of_100_deals_chains_one_page_and_stops(portal: FakePortal, client: Bitrix24Crm) -> None:
    ids = fill(portal, 100)
    assert list(client.iter_deal_ids("C1:PREPARATION")) == ids
    assert portal.methods() == ["crm.deal.list", "batch"] and len(_batch_commands(portal)[0]) == 1


def test_export_of_exactly_one_full_batch_needs_one_more_request(portal: FakePortal, client: Bitrix24Crm) -> None:
    ids = fill(portal, 2500, other_every=0)
    assert list(client.iter_deal_ids("C1:PREPARATION")) == ids
    assert len(portal.log) == 2 and portal.commands.count("crm.deal.list") == 50


def test_deals_deleted_after_the_count_end_the_export_at_the_short_page(
        portal: FakePortal, client: Bitrix24Crm) -> None:
    ids = fill(portal, 300, other_every=0)

    def delete_after_count(method: str, params: dict[str, object]) -> None:
        if method == "crm.deal.list" and params.get("start") == 0:
            for gone in ids[100:160]:
                portal.deals.pop(gone)

    portal.after_call = delete_after_count
    # 5 pages chained for 250 counted rows: page 2 is full, page 3 has 40 rows; pages 4 and 5 meet an unresolvable
    # reference that the portal resolves to the whole previous page: their rows come again and are dropped
    assert list(client.iter_deal_ids("C1:PREPARATION")) == ids[:100] + ids[160:]
    assert len(portal.log) == 2


def test_limit_asks_only_for_the_pages_it_needs(portal: FakePortal, client: Bitrix24Crm) -> None:
    ids = fill(portal, 400)
    assert list(client.iter_deal_ids("C1:PREPARATION", limit=120)) == ids[:120]
    assert len(_batch_commands(portal)[0]) == 2  # 50 counted, then 2 pages for the other 70
    assert list(client.iter_deal_ids("C1:PREPARATION", limit=0)) == []
    before = len(portal.log)
    assert list(client.iter_deal_ids("C1:PREPARATION", limit=30)) == ids[:30]
    assert portal.log[before].body["start"] == -1  # one page is enough: no count
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

    assert portal.commands.count("crm.deal.list") == 3  # 120 rows: the counted page and 2 chained ones
    kinds = [c.split("?", 1)[0] for cmds in _batch_commands(portal)[1:] for c in cmds.values()]
    assert kinds.count("crm.item.productrow.list") == 3  # 50 deals per command
    assert kinds.count("crm.company.list") == 1  # 120 deals share 40 companies: one @ID list
    assert kinds.count("crm.contact.list") == 3
    assert kinds.count("user.get") == 1 and kinds.count("department.get") == 1
    assert kinds.count("crm.deal.contact.items.get") == 120  # each deal's contact bindings (several signers)
    for gone in ("crm.deal.productrows.get", "crm.company.get", "crm.contact.get"):
        assert gone not in portal.commands
    # count + chained pages + round 1 (rows, companies, contacts, users, 120 bindings: 128 commands, 3 requests)
    # + round 2 (the department; every bound contact is a deal's own, read in round 1)
    assert len(portal.log) == 6
    contacts = parse_php_query(next(c for c in _batch_commands(portal)[1].values()
                                    if c.startswith("crm.contact.list")).split("?", 1)[1])
    assert contacts["filter"]["@ID"][:2] == ["90000", "90001"] and len(contacts["filter"]["@ID"]) == 50
    assert {"EMAIL", "PHONE", "UF_CRM_CPF"} <= set(contacts["select"])  # multi-fields must be named
    before = len(portal.log)
    client.fetch_deals("C1:PREPARATION", ids[0], ids[9])
    assert "user.get" not in str([e.body for e in portal.log[before:]])  # managers are cached
    assert len(portal.log) - before == 2  # one page of deals, one round of related records (and bindings)


def test_product_rows_of_many_deals_are_paged_by_their_total(portal: FakePortal, client: Bitrix24Crm) -> None:
    ids = fill(portal, 60, other_every=0)
    for k, deal_id in enumerate(ids):
        portal.product_rows[deal_id] = [{"ID": 10 * deal_id + n, "PRODUCT_NAME": f"Item {n}", "PRICE": 10.5 + n,
                                         "QUANTITY": 1 + n, "SORT": 100 - n} for n in range(1 + k % 3)]
    fetched = client.fetch_deals("C1:PREPARATION", ids[0], ids[-1])
    rows = [e for e in portal.log if e.method == "batch"]
    # rows[0]: the chained deal page; the first round is two requests (its lists and the 60 deals' bindings)
    first_round, second_round = rows[1].body["cmd"] | rows[2].body["cmd"], rows[3].body["cmd"]
    assert len(rows) == 4 and sum(n.startswith("b") for n in first_round) == 60
    assert sorted(n for n in first_round if n.startswith("p")) == ["p0_0", "p1_0"]
    # 50 deals x 1-3 rows = 99 rows in group 0: one more page; group 1 (10 deals, 21 rows) fits in one
    assert sorted(n for n in second_round if n.startswith("p")) == ["p0_1"]
    third = fetched[2].deal.line_items  # 3 rows, in the deal's SORT order
    assert [(i.description, i.quantity, i.unit_price) for i in third] == [
        ("Item 2", Decimal(3), Decimal("12.5")), ("Item 1", Decimal(2), Decimal("11.5")),
        ("Item 0", Decimal(1), Decimal("10.5"))]
    assert sum(len(f.deal.line_items) for f in fetched) == sum(1 + k % 3 for k in range(60))
    listing = parse_php_query(first_round["p0_0"].split("?", 1)[1])
    assert listing["filter"]["=ownerType"] == "D" and listing["filter"]["=ownerId"] == [str(i) for i in ids[:50]]


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


def test_a_deal_deleted_while_its_details_are_read_keeps_the_row_read(
        portal: FakePortal, client: Bitrix24Crm) -> None:
    """Details come from list methods, which cannot say "deleted": the deal is the row read a moment before
    (as if it had been deleted just after the fetch); the write-back then meets "not found"."""
    ids = fill(portal, 10)
    victim = ids[3]
    portal.product_rows[victim] = [{"ID": 1, "PRODUCT_NAME": "Licença", "PRICE": 10, "QUANTITY": 1}]

    def delete_after_list(method: str, _params: dict[str, object]) -> None:
        if method == "crm.deal.list":
            portal.deals.pop(victim, None)
            portal.product_rows.pop(victim, None)

    portal.after_call = delete_after_list
    fetched = {f.deal_id: f for f in client.fetch_deals("C1:PREPARATION", ids[0], ids[-1])}
    assert list(fetched) == ids
    assert fetched[victim].deal.line_items == ()  # read after the deletion
    assert client.get_deal_stage(victim) is None


def test_get_deal_stage(portal: FakePortal, client: Bitrix24Crm) -> None:
    portal.add_deal(42, STAGE_ID="C1:EXECUTING")
    assert client.get_deal_stage(42) == "C1:EXECUTING"
    assert client.get_deal_stage(43) is None
    body = json.dumps(portal.log[0].body)
    assert body == '{"id": 42}'
