"""Write-backs through the Bitrix24 connector against the fake portal: requests counted at scale, in both modes, and
a resumed write-back that finds its comment on the deal's timeline instead of posting it again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from esign.crm.bitrix24 import Bitrix24Crm, Bitrix24Settings, WebhookUrl
from esign.model import Stage
from esign.pipeline import writeback
from esign.pipeline.schema import crm_sync
from esign.pipeline.services import Services
from esign.store import DocumentRecord
from tests.crm.bitrix24.conftest import FakeClock, make_portal
from tests.crm.bitrix24.fake_portal import FakePortal, Running
from tests.pipeline.conftest import Pipe


def _record(n: int, deal_id: int) -> DocumentRecord:
    now = datetime.now(UTC)
    return DocumentRecord(id=f"DOC-{n:06d}", crm="bitrix24", deal_id=str(deal_id), template_id="contrato_servicos",
                          round=1, batch_id="run#1", title="", counterparty_name="", counterparty_tax_id="",
                          counterparty_email="", counterparty_phone="", manager_id=None, stage=Stage.SENT,
                          reason=None, slots=(), created_at=now, updated_at=now)


@pytest.fixture
def portal() -> Iterator[tuple[FakePortal, Running]]:
    fake = make_portal()
    running = Running(fake)
    yield fake, running
    running.stop()


def _services(pipe: Pipe, portal: tuple[FakePortal, Running], deals: int, attach: str) -> Services:
    fake, running = portal
    for deal_id in range(1, deals + 1):
        fake.add_deal(deal_id, STAGE_ID="C1:PREPARATION")
    clock = FakeClock()  # the client's own pacing sleeps on this clock: the test never waits
    client = Bitrix24Crm(Bitrix24Settings(WebhookUrl.parse(running.webhook(fake))), clock=clock, sleep=clock.sleep)
    services = pipe.with_config(attach=attach)
    services.__dict__["crm"] = client  # the connector under test instead of the embedded CRM
    return services


def test_ten_thousand_linked_write_backs_take_two_requests_per_fifty_documents(
        pipe: Pipe, portal: tuple[FakePortal, Running]) -> None:
    fake, _ = portal
    services = _services(pipe, portal, 10_000, "link")
    items = [(_record(n, n), f"Contrato DOC-{n:06d} assinado. Arquivo final: https://esign.example/f/{n}")
             for n in range(1, 10_001)]
    fake.log.clear()
    assert writeback.write_back_many(services, items, "signed") == (10_000, {}, {})
    methods = fake.methods()
    # one comment batch and one move batch per 50 documents (+ the pipelines and their stages, read once)
    assert methods.count("batch") - 1 == 400 and len(methods) <= 402
    assert len(fake.comments) == 10_000 and len(fake.updates) == 10_000
    assert {d["STAGE_ID"] for d in fake.deals.values()} == {services.config.stages.signed}
    assert writeback.write_back_many(services, items, "signed") == (0, {}, {})  # nothing twice
    assert len(fake.methods()) == len(methods)


def test_attached_files_go_one_request_each_and_moves_fifty_to_a_batch(
        pipe: Pipe, portal: tuple[FakePortal, Running]) -> None:
    fake, _ = portal
    services = _services(pipe, portal, 120, "file")
    items = [(_record(n, n), f"Contrato DOC-{n:06d}") for n in range(1, 121)]
    files = {r.id: [(f"{r.id}.pdf", b"%PDF-1.7 final")] for r, _ in items}
    services.crm.list_stages()
    fake.log.clear()
    assert writeback.write_back_many(services, items, "signed", files) == (120, {}, {})
    assert fake.methods().count("crm.timeline.comment.add") == 120 and fake.methods().count("batch") == 3
    assert all(c["files"] == [(f"DOC-{c['deal_id']:06d}.pdf", b"%PDF-1.7 final")] for c in fake.comments)


def test_a_resumed_write_back_reads_the_timeline_and_posts_only_what_is_missing(
        pipe: Pipe, portal: tuple[FakePortal, Running]) -> None:
    """A worker died after the portal took some comments of its batch, before its marks: all intents pending."""
    fake, _ = portal
    services = _services(pipe, portal, 60, "link")
    items = [(_record(n, n), f"Contrato DOC-{n:06d}") for n in range(1, 61)]
    with pipe.ws.engine.begin() as conn:
        conn.execute(crm_sync.insert(), [{"document_id": r.id, "target": "signed", "state": "pending", "detail": "",
                                          "updated_at": datetime.now(UTC)} for r, _ in items])
    services.crm.add_comments([(int(r.deal_id), f"{text}\n{writeback.marker(r.id, 'signed')}")
                               for r, text in items[:20]])
    del fake.deals[60]  # and one deal was deleted meanwhile
    services.crm.list_stages()
    fake.log.clear()
    written, refused, gone = writeback.write_back_many(services, items, "signed")
    assert (written, refused, list(gone)) == (59, {}, ["DOC-000060"])
    assert len(fake.comments) == 60 - 1  # 20 found on the timeline, 39 posted, none on the deleted deal
    assert sorted(c["deal_id"] for c in fake.comments) == list(range(1, 60))
    # two timeline batches (50 + 10 deals), two comment batches, two move batches
    assert fake.methods() == ["batch"] * 6
