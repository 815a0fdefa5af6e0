"""Load test of the signing portal on loopback: many concurrent clients open their links and sign.

The real app (``esign.portal.app.create_app``) runs under uvicorn on a free 127.0.0.1 port, over a SQLite ledger
(the embedded default) with one prepared document per client; the one-time codes go to an in-memory CodeSender.
Each client (asyncio + httpx, its own cookie jar) walks the real pages: open the link, ask for a code, type it,
sign, see the receipt. Afterwards every document must be ``client_signed`` with exactly its events
(viewed, code_sent, code_verified, client_signed): no errors and no lost events.

    .venv/bin/python bench/load_portal.py --clients 200 --concurrency 50

Prints requests/s, latency percentiles per step, errors and lost events; exits 1 on any error or lost event.
The per-IP limits are raised for the run (every client shares 127.0.0.1); the per-link limits stay as they are.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import uvicorn
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "plugins") not in sys.path:
    sys.path.insert(0, str(ROOT / "plugins"))

from esign.model import Stage  # noqa: E402
from esign.portal.app import create_app  # noqa: E402
from esign.portal.services import PortalServices, PortalSettings  # noqa: E402
from esign.requests import SigningRequest, SigningRequests  # noqa: E402
from esign.store import EventInfo, Ledger, init_schema, make_engine, sha256_hex  # noqa: E402
from esign.verify import verify_untrusted  # noqa: E402

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
#: The events one client's signing must leave, each exactly once.
EXPECTED_EVENTS = ("viewed", "code_sent", "code_verified", "client_signed")


class MemoryCodes:
    """The CodeSender: keeps the last code per request, as the SMS the client would read."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}
        self.sent = 0
        self._lock = threading.Lock()

    def send_code(self, request: SigningRequest, code: str, sequence: int, intent: str = "sign") -> None:
        with self._lock:
            self.codes[request.id] = code
            self.sent += 1


@dataclass
class Link:
    token: str
    request_id: str
    document_id: str


@dataclass
class LoadReport:
    clients: int
    concurrency: int
    requests: int = 0
    wall: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # documents whose stage or events are not what signing leaves

    @property
    def rps(self) -> float:
        return self.requests / self.wall if self.wall else 0.0

    def percentile(self, q: float, step: str | None = None) -> float:
        values = sorted(v for k, vs in self.latencies.items() if step in (None, k) for v in vs)
        if not values:
            return 0.0
        return values[min(len(values) - 1, int(q * len(values)))]

    def lines(self) -> list[str]:
        out = [f"clients {self.clients}, concurrency {self.concurrency}, requests {self.requests}, "
               f"wall {self.wall:.2f} s, {self.rps:.1f} requests/s",
               f"latency all steps: p50 {self.percentile(0.5) * 1000:.0f} ms, p95 {self.percentile(0.95) * 1000:.0f} ms"
               f", p99 {self.percentile(0.99) * 1000:.0f} ms, max {self.percentile(1.0) * 1000:.0f} ms"]
        for step in self.latencies:
            out.append(f"  {step:<6} n={len(self.latencies[step]):<4} p50 {self.percentile(0.5, step) * 1000:6.0f} ms"
                       f"  p99 {self.percentile(0.99, step) * 1000:6.0f} ms")
        out.append(f"errors {len(self.errors)}, lost events {len(self.lost)}")
        out += [f"  error: {e}" for e in self.errors[:10]] + [f"  lost: {e}" for e in self.lost[:10]]
        return out


def _pdf(path: Path) -> bytes:
    c = canvas.Canvas(str(path), pagesize=A4)
    c.drawString(72, 760, "Contrato de prestação de serviços — carga")
    c.showPage()
    c.save()
    return path.read_bytes()


def build_portal(workdir: Path, clients: int) -> tuple[PortalServices, list[Link], MemoryCodes]:
    """A SQLite ledger with ``clients`` documents sent for signature, and the portal's services over it."""
    engine = make_engine(f"sqlite:///{workdir / 'ledger.db'}")
    init_schema(engine)
    ledger = Ledger(engine)
    requests = SigningRequests(engine, ledger, secrets.token_bytes(32))
    documents = workdir / "documents"
    documents.mkdir(parents=True, exist_ok=True)
    data = _pdf(workdir / "template.pdf")
    links = []
    for n in range(clients):
        doc, _ = ledger.create_document(deal_id=f"L{n}", template_id="contrato", title=f"Contrato {n}",
                                        counterparty_name=f"Cliente {n} Ltda", counterparty_tax_id="123")
        (documents / f"{doc.id}.pdf").write_bytes(data)
        ledger.move(doc.id, Stage.COMPANY_SIGNED, "company_signed", EventInfo(actor="Maria Diretora"))
        ledger.add_version(doc.id, "company_signed", sha256=sha256_hex(data), path=f"{doc.id}.pdf", size=len(data))
        ledger.move(doc.id, Stage.SENT, "sent", EventInfo(actor="pipeline", channel="sms"))
        request = requests.create(doc.id, "sms", f"+55119{n:08d}", requests.now() + timedelta(days=14))
        links.append(Link(requests.token_for(request), request.id, doc.id))
    codes = MemoryCodes()
    settings = PortalSettings(public_url="http://127.0.0.1", documents_dir=documents, cache_dir=workdir / "cache",
                              company_name="Carga Ltda", uploads_per_minute=10**6, code_posts_per_minute=10**6)
    services = PortalServices(ledger=ledger, requests=requests, sender=codes, settings=settings,
                              verify=verify_untrusted)
    return services, links, codes


class Server:
    """uvicorn on a free loopback port, in its own thread and event loop."""

    def __init__(self, app: object, *, access_log: bool = False) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        # access_log: uvicorn's records reach the root logger (no logging config of its own), for log tests
        config = uvicorn.Config(app, log_level="info" if access_log else "warning",  # type: ignore[arg-type]
                                log_config=None if access_log else uvicorn.config.LOGGING_CONFIG,
                                access_log=access_log, backlog=2048, timeout_keep_alive=30)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])),
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()


async def _client(base: str, link: Link, codes: MemoryCodes, report: LoadReport, gate: asyncio.Semaphore) -> None:
    async with gate, httpx.AsyncClient(base_url=base, timeout=60.0) as http:
        csrf = ""

        async def step(name: str, method: str, url: str, expect: int, data: dict[str, str] | None = None) -> str:
            nonlocal csrf
            started = time.perf_counter()
            response = await http.request(method, url, data=data)
            report.latencies.setdefault(name, []).append(time.perf_counter() - started)
            report.requests += 1
            if response.status_code != expect:
                raise AssertionError(f"{name}: HTTP {response.status_code}, expected {expect}")
            found = _CSRF.search(response.text)
            csrf = found.group(1) if found else csrf
            return response.text

        try:
            await step("open", "GET", f"/s/{link.token}", 200)
            await step("code", "POST", f"/s/{link.token}/code", 200, {"csrf": csrf, "intent": "sign"})
            code = codes.codes.get(link.request_id, "")
            await step("verify", "POST", f"/s/{link.token}/verify", 200,
                       {"csrf": csrf, "intent": "sign", "code": code})
            await step("sign", "POST", f"/s/{link.token}/sign", 303,
                       {"csrf": csrf, "typed_name": f"Cliente {link.document_id}", "consent": "yes"})
            page = await step("done", "GET", f"/s/{link.token}/done", 200)
            if link.document_id not in page:
                raise AssertionError("done: the receipt does not name the document")
        except Exception as exc:  # every failure is a finding, counted per client
            report.errors.append(f"{link.document_id}: {type(exc).__name__}: {exc}")


def lost_events(ledger: Ledger, links: list[Link]) -> list[str]:
    """Documents whose stage or event log is not exactly what one signing leaves."""
    lost = []
    for link in links:
        record = ledger.get(link.document_id)
        actions = Counter(e.action for e in ledger.events(link.document_id))
        missing = [a for a in EXPECTED_EVENTS if actions[a] != 1]
        if record.stage is not Stage.CLIENT_SIGNED or missing:
            lost.append(f"{link.document_id}: stage {record.stage.value}, events {dict(actions)}")
    return lost


async def _run_clients(base: str, links: list[Link], codes: MemoryCodes, report: LoadReport) -> None:
    gate = asyncio.Semaphore(report.concurrency)
    await asyncio.gather(*(_client(base, link, codes, report, gate) for link in links))


def run_load(workdir: Path, clients: int = 200, concurrency: int = 50) -> LoadReport:
    """Build the portal, serve it, run every client once, and check the ledger afterwards."""
    services, links, codes = build_portal(workdir, clients)
    report = LoadReport(clients=clients, concurrency=concurrency)
    with Server(create_app(services)) as server:
        started = time.perf_counter()
        asyncio.run(_run_clients(server.url, links, codes, report))
        report.wall = time.perf_counter() - started
    report.lost = lost_events(services.ledger, links)
    services.ledger.engine.dispose()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="esign-load-") as tmp:
        report = run_load(Path(tmp), args.clients, args.concurrency)
    print("\n".join(report.lines()))
    return 1 if report.errors or report.lost else 0


if __name__ == "__main__":
    sys.exit(main())
