"""A whole stage at batch scale: the number of HTTP requests a pull costs, counted against the fake portal."""

from __future__ import annotations

from esign.cli.crm_command import pull
from esign.crm.bitrix24 import Bitrix24Crm
from tests.crm.bitrix24.conftest import FakeClock, fill
from tests.crm.bitrix24.fake_portal import FakePortal, ServerBucket

STAGE = "C1:PREPARATION"


def test_pulling_a_4389_deal_stage_takes_40_requests_plus_one_per_50_deals_for_their_signers(
        portal: FakePortal, client: Bitrix24Crm, clock: FakeClock) -> None:
    ids = fill(portal, 4389)
    for k, deal_id in enumerate(ids):
        portal.product_rows[deal_id] = [{"ID": 2 * deal_id + n, "PRODUCT_NAME": f"Serviço {n}", "PRICE": 100 + n,
                                         "QUANTITY": 1} for n in range(1 + k % 2)]
    portal.bucket = ServerBucket(burst=50, rate=2.0, clock=clock)  # the standard plan's leaky bucket

    pulled = list(pull(client, STAGE))

    assert [f.deal_id for f in pulled] == ids
    assert sum(len(f.deal.line_items) for f in pulled) == sum(1 + k % 2 for k in range(4389))
    assert all(f.problems == () for f in pulled)
    assert all(f.deal.counterparty.email and f.deal.manager for f in pulled)
    requests = len(portal.log)
    # at most 40 for the deals and what they point to, plus each deal's contact bindings (several signers:
    # crm.deal.contact.items.get has no list form, so one command per deal, 50 to a request)
    assert requests <= 40 + -(-4389 // 50), requests
    assert client.transport.requests == requests
    assert all(e.status == 200 for e in portal.log)  # never over the portal's bucket
    assert portal.commands.count("crm.deal.contact.items.get") == 4389
    # no other command per deal: everything else is read by lists over ID arrays
    per_deal = ("crm.deal.productrows.get", "crm.company.get", "crm.contact.get")
    assert not set(per_deal) & set(portal.commands)
    assert portal.commands.count("crm.deal.list") <= 2 * -(-4389 // 50) + 4  # the IDs, then the rows: no waste
