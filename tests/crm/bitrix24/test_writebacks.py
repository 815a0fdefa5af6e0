"""Batched write-backs against the fake portal: stage moves and linked comments 50 per request, the timeline read
back for a comment's marker, and deleted deals reported as not found (typed, so the pipeline ends the write-back)."""

from __future__ import annotations

from esign.crm.bitrix24 import Bitrix24Crm
from esign.errors import CrmError, CrmNotFoundError
from tests.crm.bitrix24.conftest import fill
from tests.crm.bitrix24.fake_portal import FakePortal


def test_stage_moves_go_fifty_to_a_batch_and_a_deleted_deal_is_not_found(portal: FakePortal,
                                                                          client: Bitrix24Crm) -> None:
    ids = fill(portal, 120, other_every=0)
    del portal.deals[ids[7]]  # deleted in the CRM
    client.list_stages()
    portal.log.clear()
    outcome = client.move_deals([(deal, "C1:EXECUTING") for deal in ids] + [(ids[0], "C1:NOPE")])
    assert portal.methods() == ["batch"] * 3  # 120 moves, 50 per request; the unknown stage never sent
    assert isinstance(outcome[7], CrmNotFoundError) and f"deal {ids[7]} not found" in str(outcome[7])
    assert isinstance(outcome[-1], CrmError) and "unknown deal stage" in str(outcome[-1])
    assert [e for i, e in enumerate(outcome[:-1]) if i != 7] == [None] * 119
    assert {portal.deals[d]["STAGE_ID"] for d in ids if d != ids[7]} == {"C1:EXECUTING"}
    assert all(u["params"] == {"REGISTER_SONET_EVENT": "N"} for u in portal.updates)


def test_linked_comments_go_fifty_to_a_batch_an_owner_not_found_is_typed(portal: FakePortal,
                                                                         client: Bitrix24Crm) -> None:
    ids = fill(portal, 60, other_every=0)
    del portal.deals[ids[3]]
    outcome = client.add_comments([(deal, f"Contrato de {deal} [esign:D{deal}:signed]") for deal in ids])
    assert portal.methods() == ["batch", "batch"]
    assert isinstance(outcome[3], CrmNotFoundError) and "OWNER_NOT_FOUND" in str(outcome[3])
    assert sum(e is None for e in outcome) == 59
    assert [c["text"] for c in portal.comments][:2] == [f"Contrato de {ids[0]} [esign:D{ids[0]}:signed]",
                                                       f"Contrato de {ids[1]} [esign:D{ids[1]}:signed]"]


def test_a_lost_answer_to_a_comment_batch_is_not_repeated(portal: FakePortal, client: Bitrix24Crm) -> None:
    ids = fill(portal, 3, other_every=0)
    portal.scripted.append((500, {"error": "INTERNAL_SERVER_ERROR", "error_description": "boom"}))
    outcome = client.add_comments([(deal, "x") for deal in ids])
    assert portal.methods() == ["batch"]  # a write batch whose fate is unknown is never sent again blindly
    assert all(isinstance(e, CrmError) and "may or may not" in str(e) for e in outcome)


def test_markers_are_found_on_the_timeline_even_past_the_first_page(portal: FakePortal,
                                                                    client: Bitrix24Crm) -> None:
    ids = fill(portal, 60, other_every=0)
    busy, quiet, missing = ids[0], ids[1], ids[2]
    client.add_comment(busy, "Contrato [esign:DOC-A:signed]")  # the oldest of 61 comments on that deal
    for n in range(60):
        client.add_comment(busy, f"nota {n}")
    client.add_comment(quiet, "Contrato [esign:DOC-B:awaiting]")
    portal.log.clear()
    wanted = {deal: f"[esign:DOC-{deal}:signed]" for deal in ids[3:]}
    wanted |= {busy: "[esign:DOC-A:signed]", quiet: "[esign:DOC-B:signed]", missing: "[esign:DOC-C:signed]"}
    assert client.find_comments(wanted) == {busy}  # DOC-B's other target does not count
    # 60 deals: two batches of timeline reads, one more page for the deal with 61 comments
    assert sorted(portal.methods()) == ["batch", "batch", "crm.timeline.comment.list"]
    first = portal.log[0].body["cmd"]
    assert all(c.startswith("crm.timeline.comment.list?") and "ENTITY_TYPE%5D=deal" in c for c in first.values())
