"""The fake portal itself follows the documented server, checked over HTTP with the client's transport."""

from __future__ import annotations

from decimal import Decimal

from esign.crm.bitrix24 import Bitrix24Crm
from esign.crm.bitrix24.query import command
from tests.crm.bitrix24.conftest import fill
from tests.crm.bitrix24.fake_portal import FakePortal


def _list(flt: dict[str, object]) -> str:
    return command("crm.deal.list", {"filter": flt, "order": {"ID": "ASC"}, "select": ["ID"], "start": -1})


def test_an_unresolvable_reference_resolves_to_the_deepest_node_found(
        portal: FakePortal, client: Bitrix24Crm) -> None:
    ids = fill(portal, 20, other_every=0)
    answer = client.transport.batch({
        "a": _list({"STAGE_ID": "C1:PREPARATION"}),
        "b": _list({"STAGE_ID": "C1:PREPARATION", ">ID": "$result[a][49][ID]"}),  # a has 20 rows: the whole page
        "c": _list({"STAGE_ID": "C1:PREPARATION", ">ID": "$result[a][9][ID]"}),  # resolvable
        "d": command("crm.deal.get", {"id": "$result[nothing][0][ID]"}),  # a command without a result: nothing
    })
    assert [r["ID"] for r in answer.results["b"]] == [str(i) for i in ids]  # the filter got an array: no-op
    assert [r["ID"] for r in answer.results["c"]] == [str(i) for i in ids[10:]]
    assert "d" in answer.errors
    assert portal.commands == ["crm.deal.list"] * 3 + ["crm.deal.get"]  # every command ran and counted


def test_shapes_ids_as_strings_prices_as_numbers_camel_case_for_crm_item(
        portal: FakePortal, client: Bitrix24Crm) -> None:
    portal.add_deal(5, CONTACT_ID=7)
    portal.product_rows[5] = [{"ID": 9, "PRODUCT_NAME": "Licença", "PRICE": 899.1, "QUANTITY": 2}]
    legacy = client.transport.call("crm.deal.productrows.get", {"id": 5})
    assert legacy[0]["ID"] == "9" and legacy[0]["OWNER_ID"] == "5" and legacy[0]["PRICE"] == Decimal("899.1")
    answer = client.transport.call_full("crm.item.productrow.list",
                                        {"filter": {"=ownerType": "D", "=ownerId": [5, 6]}})
    row = answer["result"]["productRows"][0]
    assert row["id"] == 9 and row["ownerId"] == 5 and row["ownerType"] == "D" and row["price"] == Decimal("899.1")
    assert answer["total"] == 1
    assert set(answer["time"]) >= {"operating", "operating_reset_at"}
    portal.deal_contacts[5] = [{"CONTACT_ID": 7, "SORT": 20, "ROLE_ID": 0, "IS_PRIMARY": "N"},
                               {"CONTACT_ID": 8, "SORT": 10, "ROLE_ID": 0, "IS_PRIMARY": "Y"}]
    assert client.transport.call("crm.deal.get", {"id": 5})["CONTACT_ID"] == "8"  # kept equal to the primary
    portal.contacts[7] = {"ID": "7", "NAME": "Ana", "EMAIL": [{"VALUE": "a@x"}], "UF_CRM_CPF": "1"}
    star = client.transport.call("crm.contact.list", {"filter": {"@ID": [7]}, "select": ["*"]})
    assert star == [{"ID": "7", "NAME": "Ana"}]  # * leaves out multi-fields and user fields
    named = client.transport.call("crm.contact.list", {"filter": {"@ID": [7]}, "select": ["EMAIL", "UF_CRM_CPF"]})
    assert named == [{"ID": "7", "EMAIL": [{"VALUE": "a@x"}], "UF_CRM_CPF": "1"}]


def test_a_429_carries_the_methods_reset_time(portal: FakePortal, client: Bitrix24Crm) -> None:
    portal.add_deal(1)
    portal.operating.limit = 0.0
    client.get_deal_stage(1)
    portal.scripted = []
    status, body = portal.handle(f"/rest/{portal.user_id}/{portal.code}/crm.deal.get", b'{"id": 1}')
    assert status == 429 and body["error"] == "OPERATION_TIME_LIMIT"
    assert body["time"]["operating_reset_at"] == 1600 and body["time"]["operating"] > 0
