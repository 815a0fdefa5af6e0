"""Bitrix24 at batch scale: N deals sent and collected through the fake portal over HTTP at 2 requests/s.

``make bench-bitrix24`` runs it: ``.venv/bin/python bench/bitrix24_bench.py [--deals 10000]`` (``DEALS=N``).

The demo data (:func:`esign.crm.seed.seed_demo`, about 4% broken on purpose) is copied into the test suite's
fake portal (``tests/crm/bitrix24/fake_portal.py``: the documented REST protocol, a leaky bucket of 50 draining
2 requests/s answering 503 QUERY_LIMIT_EXCEEDED, per-method operating time), served on a loopback port. The
pipeline's own steps then run against it through the Bitrix24 connector, one process, the way the DAGs order
them: plan, prepare, approve (auto), deliver (sign + dispatch + CRM "awaiting"); the clients sign (one in 20
declines) through ``SigningRequests``; then recover, expire, finalize + write-back, endings.

Per step it prints the HTTP requests the client sent, the 503s the portal answered, the commands the portal ran
(pull reads, stage moves, timeline comments, other), the wall time, and the seconds spent waiting for the request
budget: the client's leaky bucket (``LeakyBucket.waited``) plus retry backoff and method-time pauses (every
sleep of the connector goes through the bench's counting ``sleep``). Figures go to ``var/bench/`` as JSON.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import pipeline_steps  # noqa: E402
from sqlalchemy import select  # noqa: E402

from esign.config import Settings  # noqa: E402
from esign.crm.bitrix24 import Bitrix24Crm, Bitrix24Settings, WebhookUrl  # noqa: E402
from esign.crm.local_schema import (  # noqa: E402
    crm_companies,
    crm_contacts,
    crm_deal_items,
    crm_deals,
    crm_departments,
    crm_managers,
)
from esign.crm.seed import STAGES, seed_demo  # noqa: E402
from esign.dispatch.email import SmtpSettings  # noqa: E402
from esign.dispatch.mailserver import LocalMailServer  # noqa: E402
from esign.pipeline import collect, send  # noqa: E402
from esign.pipeline.config import PipelineConfig  # noqa: E402
from esign.pipeline.services import Services  # noqa: E402
from esign.signing import init_keys  # noqa: E402
from esign.workspace import Workspace  # noqa: E402
from tests.crm.bitrix24.fake_portal import FakePortal, Running, ServerBucket  # noqa: E402

PASSPHRASE = b"bench-only-passphrase"
LINK_SECRET = "bench-only-link-secret-0123456789abcdef0123"  # noqa: S105 - a throwaway bench workdir
RUN_ID = "bench-bitrix24"
#: The write-back mode option, when the pipeline has one (``attach: file|link``).
HAS_ATTACH = "attach" in {f.name for f in fields(PipelineConfig)}
#: Commands by what they are for (everything else is "other").
KINDS = {"crm.deal.update": "stage moves", "crm.timeline.comment.add": "comments"}
PULL = {"crm.deal.list", "crm.item.productrow.list", "crm.company.list", "crm.contact.list", "user.get",
        "department.get", "crm.category.list", "crm.status.list"}


def kind_of(method: str) -> str:
    return "pull" if method in PULL else KINDS.get(method, "other")


class CountingSleep:
    """The connector's only way to wait: every second it sleeps (bucket, backoff, method pause) is counted."""

    def __init__(self) -> None:
        self.total = 0.0

    def __call__(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
            self.total += seconds


@dataclass
class StepFigures:
    name: str
    wall: float = 0.0
    requests: int = 0  # sent by the client (retries included)
    refused: int = 0  # answered 503 by the portal's bucket
    commands: Counter[str] = field(default_factory=Counter)  # by kind
    bucket_wait: float = 0.0
    other_wait: float = 0.0  # retry backoff and method-time pauses
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def wait(self) -> float:
        return self.bucket_wait + self.other_wait

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.name, "wall_s": round(self.wall, 2), "requests": self.requests,
                "refused_503": self.refused,
                "commands": dict(self.commands), "bucket_wait_s": round(self.bucket_wait, 2),
                "other_wait_s": round(self.other_wait, 2),
                "wait_share": round(self.wait / self.wall, 3) if self.wall else 0.0, "counts": self.counts}


class Meter:
    """Measures one step at a time from the client's counters and the portal's logs."""

    def __init__(self, portal: FakePortal, crm: Bitrix24Crm, sleep: CountingSleep) -> None:
        self.portal, self.crm, self.sleep = portal, crm, sleep
        self.steps: list[StepFigures] = []

    def _bucket_waited(self) -> float:
        return float(getattr(self.crm.transport.bucket, "waited", 0.0))

    def step(self, name: str, work: Callable[[], Any]) -> StepFigures:
        portal, transport = self.portal, self.crm.transport
        figures = StepFigures(name)
        requests, bucket, slept = transport.requests, self._bucket_waited(), self.sleep.total
        with portal.lock:
            portal.log.clear()
            portal.commands.clear()
        start = time.perf_counter()
        result = work()
        figures.wall = time.perf_counter() - start
        figures.requests = transport.requests - requests
        figures.bucket_wait = self._bucket_waited() - bucket
        figures.other_wait = max(0.0, self.sleep.total - slept - figures.bucket_wait)
        with portal.lock:
            figures.refused = sum(1 for e in portal.log if e.status == 503)
            figures.commands = Counter(kind_of(m) for m in portal.commands)
            portal.log.clear()  # the bodies hold the PDFs: keep memory flat over 10,000 documents
            portal.commands.clear()
            for comment in portal.comments:
                comment["files"] = [(name, len(content) if isinstance(content, bytes) else content)
                                    for name, content in comment["files"]]
        figures.counts = _flat_counts(result)
        self.steps.append(figures)
        print(f"  {name:<36} {figures.requests:>6} req {figures.wall:8.1f} s wall {figures.wait:8.1f} s waiting "
              f"{dict(figures.commands)} {figures.counts}", flush=True)
        return figures


def _flat_counts(result: Any) -> dict[str, Any]:
    if isinstance(result, dict):
        out: dict[str, Any] = {}
        for key, value in result.items():
            if isinstance(value, dict):
                out.update({f"{key}.{k}": v for k, v in value.items() if isinstance(v, int)})
            elif isinstance(value, int):
                out[key] = value
        return out
    return {"result": result} if isinstance(result, int) else {}


def portal_from_seed(ws: Workspace) -> FakePortal:
    """A fake portal holding the embedded CRM's seeded deals, companies, contacts, users and departments."""
    portal = FakePortal()
    portal.add_pipeline(0, "Geral", [("NEW", "Novo", None), ("WON", "Ganho", "S"), ("LOSE", "Perdido", "F")])
    portal.add_pipeline(1, "Contratos", [(code, name, semantics) for code, name, _sort, semantics in STAGES])
    with ws.engine.connect() as conn:
        for d in conn.execute(select(crm_departments)).mappings():
            portal.departments[d["id"]] = {"ID": str(d["id"]), "NAME": d["name"],
                                           "PARENT": str(d["parent_id"]) if d["parent_id"] else None}
        for m in conn.execute(select(crm_managers)).mappings():
            first, _, last = str(m["name"]).partition(" ")
            portal.users[m["id"]] = {"ID": str(m["id"]), "ACTIVE": True, "NAME": first, "LAST_NAME": last,
                                     "EMAIL": m["email"], "UF_DEPARTMENT": [m["department_id"]] if m["department_id"]
                                     else []}
        for c in conn.execute(select(crm_companies)).mappings():
            portal.companies[c["id"]] = {"ID": str(c["id"]), "TITLE": c["name"], "UF_CRM_CNPJ": c["tax_id"],
                                         "ADDRESS": c["address"], "ADDRESS_CITY": None, "ADDRESS_PROVINCE": None,
                                         "ADDRESS_POSTAL_CODE": None}
        for c in conn.execute(select(crm_contacts)).mappings():
            portal.contacts[c["id"]] = {
                "ID": str(c["id"]), "NAME": c["name"], "SECOND_NAME": None, "LAST_NAME": None, "POST": c["title"],
                "UF_CRM_CPF": c["cpf"], "COMPANY_ID": str(c["company_id"]) if c["company_id"] else None,
                "EMAIL": [{"ID": "1", "VALUE_TYPE": "WORK", "VALUE": c["email"], "TYPE_ID": "EMAIL"}]
                if c["email"] else [],
                "PHONE": [{"ID": "2", "VALUE_TYPE": "MOBILE", "VALUE": c["phone"], "TYPE_ID": "PHONE"}]
                if c["phone"] else []}
        for i in conn.execute(select(crm_deal_items).order_by(crm_deal_items.c.deal_id,
                                                               crm_deal_items.c.position)).mappings():
            portal.product_rows.setdefault(i["deal_id"], []).append({
                "ID": i["deal_id"] * 100 + i["position"], "PRODUCT_NAME": i["description"],
                "PRICE": float(i["unit_price"]) if i["unit_price"] else 0, "QUANTITY": float(i["quantity"] or 0),
                "SORT": 10 * (i["position"] + 1)})
        for d in conn.execute(select(crm_deals).order_by(crm_deals.c.id)).mappings():
            portal.add_deal(d["id"], TITLE=d["title"], OPPORTUNITY=d["amount"], CURRENCY_ID=d["currency"],
                            STAGE_ID=d["stage_id"], CATEGORY_ID=d["category_id"], COMPANY_ID=d["company_id"] or 0,
                            CONTACT_ID=d["contact_id"], ASSIGNED_BY_ID=d["manager_id"])
            if d["contact_id"]:
                portal.deal_contacts[d["id"]] = [{"CONTACT_ID": d["contact_id"], "SORT": 10, "ROLE_ID": 0,
                                                  "IS_PRIMARY": "Y"}]
    return portal


def _prepare_workdir(workdir: Path, deals: int) -> tuple[Settings, FakePortal]:
    if workdir.exists():
        shutil.rmtree(workdir)
    settings = Settings.from_env({"ESIGN_HOME": str(workdir), "ESIGN_PUBLIC_URL": "http://127.0.0.1:9"},
                                 project_dir=ROOT)
    ws = Workspace(settings, passphrase=PASSPHRASE)
    company = ws.company
    init_keys(settings.keys_dir, PASSPHRASE, company_name=company.party.name, director_name=company.director_name,
              director_title=company.director_title)
    seed_demo(ws.engine, deals, rng_seed=7)
    portal = portal_from_seed(ws)
    ws.engine.dispose()
    return settings, portal


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=2500)
    parser.add_argument("--rate", type=float, default=2.0, help="the portal's drain rate, requests/s (standard: 2)")
    parser.add_argument("--burst", type=int, default=50, help="the portal's bucket (standard: 50)")
    if HAS_ATTACH:
        parser.add_argument("--attach", choices=("file", "link"), default=None,
                            help="how the signed PDF reaches the deal (default: the pipeline's)")
    parser.add_argument("--keep", action="store_true", help="keep the workdir afterwards")
    parser.add_argument("--json", type=Path, help="write the figures here (default var/bench/bitrix24-<time>.json)")
    parser.add_argument("--workdir", type=Path, help="the throwaway workdir (default var/bench/bitrix24-work)")
    args = parser.parse_args()
    out_dir = ROOT / "var" / "bench"
    workdir = args.workdir or out_dir / "bitrix24-work"
    print(f"bitrix24 bench: {args.deals} deals, portal bucket {args.burst} draining {args.rate}/s", flush=True)

    started = time.perf_counter()
    settings, portal = _prepare_workdir(workdir, args.deals)
    print(f"  seeded {len(portal.deals)} deals in {time.perf_counter() - started:.1f} s", flush=True)
    portal.bucket = ServerBucket(burst=args.burst, rate=args.rate, clock=time.monotonic)
    options: dict[str, Any] = {"crm": "bitrix24", "auto_approve": True, "batch_size": args.batch_size}
    if HAS_ATTACH and args.attach:
        options["attach"] = args.attach
    config = PipelineConfig(**options)
    server = Running(portal)
    sleep = CountingSleep()
    try:
        with LocalMailServer(workdir / "mail") as mail:
            smtp = SmtpSettings(host="127.0.0.1", port=mail.port)
            crm_settings = Bitrix24Settings(WebhookUrl.parse(server.webhook(portal)), burst=args.burst,
                                            rate=args.rate)
            services = Services(ws=Workspace(settings, passphrase=PASSPHRASE), config=config, smtp=smtp,
                                environ={"ESIGN_LINK_SECRET": LINK_SECRET}, bitrix24=crm_settings)
            crm = Bitrix24Crm(crm_settings, sleep=sleep)  # real clocks; every wait through the counting sleep
            services.crm = crm  # type: ignore[misc]
            meter = Meter(portal, crm, sleep)
            batches: list[dict[str, Any]] = []

            def plan() -> dict[str, int]:
                batches.extend(send.plan_batches(services, RUN_ID))
                return {"batches": len(batches), "deals": sum(int(b["count"]) for b in batches)}

            def each(step: Callable[[Services, dict[str, Any]], Any]) -> Callable[[], dict[str, int]]:
                def run() -> dict[str, int]:
                    total: Counter[str] = Counter()
                    for batch in batches:
                        total.update(_flat_counts(step(services, batch)))
                    return dict(total)
                return run

            def finalize() -> dict[str, int]:
                total: Counter[str] = Counter()
                for id_range in collect.signed_ranges(services, 1):
                    total.update(_flat_counts(collect.finalize_range(services, id_range)))
                return dict(total)

            meter.step("send: plan (pull IDs)", plan)
            meter.step("send: prepare (fetch + render)", each(send.prepare_batch))
            meter.step("send: approve (auto)", lambda: {"batches": send.approve_run(services, RUN_ID, "bench")})
            meter.step("send: deliver (sign, e-mail, awaiting)", each(pipeline_steps.deliver_batch))
            meter.step("clients sign / decline", each(pipeline_steps.clients_answer))
            meter.step("collect: recover", lambda: collect.recover(services))
            meter.step("collect: expire", lambda: collect.expire_requests(services))
            meter.step("collect: finalize + write-back", finalize)
            meter.step("collect: endings (declined)", lambda: collect.write_back_endings(services))
            stages = services.ws.ledger.stage_counts()
    finally:
        server.stop()
    crm_stages = Counter(str(d["STAGE_ID"]) for d in portal.deals.values())
    report = {"deals": args.deals, "burst": args.burst, "rate": args.rate, "batch_size": args.batch_size,
              "attach": options.get("attach"), "steps": [s.as_dict() for s in meter.steps],
              "ledger_stages": stages, "crm_stages": dict(crm_stages), "comments": len(portal.comments),
              "at": datetime.now(UTC).isoformat()}
    _print_table(meter.steps, args.deals)
    print(f"ledger stages: {stages}")
    print(f"portal deal stages: {dict(crm_stages)}; timeline comments: {len(portal.comments)}")
    path = args.json or out_dir / f"bitrix24-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str))
    print(f"figures written to {path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path}")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _print_table(steps: list[StepFigures], deals: int) -> None:
    kinds = ("pull", "stage moves", "comments", "other")
    print(f"\n{'step':<40} {'HTTP req':>8} {'503s':>5} " + " ".join(f"{k:>11}" for k in kinds)
          + f" {'wall s':>8} {'wait s':>8} {'wait %':>7}")
    total = StepFigures("total")
    for s in steps:
        print(f"{s.name:<40} {s.requests:>8} {s.refused:>5} " + " ".join(f"{s.commands.get(k, 0):>11}" for k in kinds)
              + f" {s.wall:>8.1f} {s.wait:>8.1f} {100 * s.wait / s.wall if s.wall else 0:>6.1f}%")
        total.requests += s.requests
        total.refused += s.refused
        total.commands.update(s.commands)
        total.wall += s.wall
        total.bucket_wait += s.bucket_wait
        total.other_wait += s.other_wait
    print(f"{'total (' + str(deals) + ' deals)':<40} {total.requests:>8} {total.refused:>5} "
          + " ".join(f"{total.commands.get(k, 0):>11}" for k in kinds)
          + f" {total.wall:>8.1f} {total.wait:>8.1f} {100 * total.wait / total.wall if total.wall else 0:>6.1f}%")
    print(f"wall: {total.wall / 60:.1f} min; budget wait: {total.bucket_wait:.1f} s in the client's bucket, "
          f"{total.other_wait:.1f} s in retry backoff / method pauses")


if __name__ == "__main__":
    sys.exit(main())
