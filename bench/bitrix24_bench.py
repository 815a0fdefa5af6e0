"""The CRM side of a 10,000-deal run against the fake Bitrix24 portal at its real limit (burst 50, 2 requests/s).

``make bench-bitrix24`` runs it: ``.venv/bin/python bench/bitrix24_bench.py [--deals N]``. It does what esign_send
and esign_collect ask of the CRM, through the real connector over HTTP on loopback: the pull (deal IDs of the
trigger stage, then the deals in ranges of 1,000), the "awaiting" write-back of every document, and the "signed"
write-back in both ``attach`` modes (``file``: a small stand-in PDF attached; ``link``: links, 50 comments a batch).
The portal's bucket and the client's budget share one clock: real elapsed time plus every pause the budget asked
for, skipped instead of slept. So the minutes reported are the wall a real portal at 2 requests/s would impose
(the work done here plus the waits), next to the share of it spent waiting for the budget. Rendering and signing
are not part of this bench (see ``make bench``).

It prints a table and writes it as JSON under ``var/bench/``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from esign.config import Settings  # noqa: E402
from esign.crm.bitrix24 import Bitrix24Crm, Bitrix24Settings, WebhookUrl  # noqa: E402
from esign.crm.bitrix24.budget import FileBucket  # noqa: E402
from esign.model import Stage  # noqa: E402
from esign.pipeline import writeback  # noqa: E402
from esign.pipeline.config import PipelineConfig  # noqa: E402
from esign.pipeline.services import Services  # noqa: E402
from esign.store import DocumentRecord  # noqa: E402
from esign.workspace import Workspace  # noqa: E402
from tests.crm.bitrix24.conftest import fill, make_portal  # noqa: E402
from tests.crm.bitrix24.fake_portal import FakePortal, Running, ServerBucket  # noqa: E402

BURST, RATE = 50, 2.0
RANGE = 1000  # deals per fetch (the pipeline's default batch size)
STAND_IN_PDF = b"%PDF-1.7\n" + b"0" * 20_000  # a final PDF's size order, for the upload mode


class SkippingClock:
    """Real elapsed seconds plus every wait the budget asked for (skipped: the bench never sleeps)."""

    def __init__(self) -> None:
        self._start = time.perf_counter()
        self.skipped = 0.0

    @property
    def now(self) -> float:
        return self()

    def __call__(self) -> float:
        return time.perf_counter() - self._start + self.skipped

    def sleep(self, seconds: float) -> None:
        self.skipped += seconds


@dataclass
class Step:
    name: str
    requests: int
    commands: int
    portal_seconds: float
    waited: float
    overruns: int

    def row(self) -> str:
        minutes = self.portal_seconds / 60
        share = self.waited / self.portal_seconds if self.portal_seconds else 0.0
        return (f"| {self.name} | {self.requests:,} | {self.commands:,} | {minutes:,.1f} | {share:.0%} "
                f"| {self.overruns} |")


class Bench:
    def __init__(self, deals: int, home: Path) -> None:
        self.clock = SkippingClock()
        self.portal: FakePortal = make_portal()
        self.portal.bucket = ServerBucket(burst=BURST, rate=RATE, clock=self.clock)
        self.deal_ids = fill(self.portal, deals, other_every=0)
        self.server = Running(self.portal)
        # the shared budget a deployment uses (a lock file here), on the bench's clock
        self.bucket = FileBucket(home / "bitrix24.bucket", BURST, RATE, sleep=self.clock.sleep, clock=self.clock)
        settings = Bitrix24Settings(WebhookUrl.parse(self.server.webhook(self.portal)), burst=BURST, rate=RATE)
        self.crm = Bitrix24Crm(settings, bucket=self.bucket, sleep=self.clock.sleep)
        ws = Workspace(Settings.from_env({"ESIGN_HOME": str(home)}, project_dir=ROOT))
        self.services = {mode: Services(ws=ws, config=PipelineConfig(attach=mode))
                         for mode in ("file", "link")}
        for services in self.services.values():
            services.__dict__["crm"] = self.crm  # the connector under test instead of the embedded CRM

    def measure(self, name: str, work: Callable[[], object]) -> Step:
        log_from, started, waited = len(self.portal.log), self.clock.now, self.bucket.waited
        work()
        entries = self.portal.log[log_from:]
        commands = sum(len(e.body.get("cmd") or {}) if e.method == "batch" and isinstance(e.body, dict) else 1
                       for e in entries)
        return Step(name, len(entries), commands, self.clock.now - started, self.bucket.waited - waited,
                    sum(e.status == 503 for e in entries))

    def pull(self) -> None:
        stage = "C1:PREPARATION"
        ids = list(self.crm.iter_deal_ids(stage))
        for start in range(0, len(ids), RANGE):
            chunk = ids[start:start + RANGE]
            self.crm.fetch_deals(stage, chunk[0], chunk[-1])

    def write_back(self, target: str, mode: str, prefix: str) -> None:
        items = [(_record(f"{prefix}{n:06d}", deal), f"Contrato {prefix}{n:06d}") for n, deal in
                 enumerate(self.deal_ids)]
        files = {r.id: [(f"{r.id}.pdf", STAND_IN_PDF)] for r, _ in items} if mode == "file" else None
        writeback.write_back_many(self.services[mode], items, target, files)

    def close(self) -> None:
        self.crm.close()
        self.server.stop()


def _record(doc_id: str, deal_id: int) -> DocumentRecord:
    now = datetime.now(UTC)
    return DocumentRecord(id=doc_id, crm="bitrix24", deal_id=str(deal_id), template_id="contrato_servicos", round=1,
                          batch_id="bench#1", title="", counterparty_name="", counterparty_tax_id="",
                          counterparty_email="", counterparty_phone="", manager_id=None, stage=Stage.SENT,
                          reason=None, slots=(), created_at=now, updated_at=now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=10_000)
    args = parser.parse_args()
    real = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(args.deals, Path(tmp))
        try:
            bench.crm.list_stages()
            steps = [
                bench.measure("pull (stage IDs + deals, ranges of 1,000)", bench.pull),
                bench.measure("write-back awaiting (link mode: 50 comments a batch)",
                              lambda: bench.write_back("awaiting", "link", "A")),
                bench.measure("write-back signed, attach: link", lambda: bench.write_back("signed", "link", "L")),
                bench.measure("write-back signed, attach: file (PDF uploads)",
                              lambda: bench.write_back("signed", "file", "F")),
            ]
        finally:
            bench.close()
    print(f"{args.deals:,} deals, portal limit burst {BURST} / {RATE:g} req/s (waits skipped, counted); "
          f"bench ran {time.perf_counter() - real:.0f} s")
    print("| step | HTTP requests | commands | minutes (wall at 2 req/s) | share waiting for the budget | 503s |")
    print("|---|---|---|---|---|---|")
    for step in steps:
        print(step.row())
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bitrix24.json").write_text(json.dumps({"deals": args.deals, "burst": BURST, "rate": RATE,
                                                   "steps": [vars(s) for s in steps]}, indent=2))


if __name__ == "__main__":
    main()
