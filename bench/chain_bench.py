"""Document-core throughput on one core: render -> company sign, then client finalize -> verify.

``make bench`` runs it: ``.venv/bin/python bench/chain_bench.py [--docs N]``. Keys, fonts and templates are
loaded before the clock starts (once per worker, as in the pipeline). Two measurements per chain:

* primitive: the library calls alone, in memory (the bound);
* ledger: the pipeline's idempotent steps (``prepare_document``, ``company_sign_document``, ...), which add the
  SQLite ledger writes and atomic file writes.

It prints documents/s and writes the figures as JSON under ``var/bench/``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from esign.company import load_company  # noqa: E402
from esign.config import Settings  # noqa: E402
from esign.core.documents import company_sign_document, finalize_signed_document, prepare_document  # noqa: E402
from esign.model import Stage  # noqa: E402
from esign.render import render_document  # noqa: E402
from esign.signing import company_sign, init_keys  # noqa: E402
from esign.store import EventInfo  # noqa: E402
from esign.verify import verify_pdf  # noqa: E402
from esign.workspace import Workspace  # noqa: E402
from tests.support import make_deal, sample_evidence  # noqa: E402

PASSPHRASE = b"bench-only-passphrase"


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=100)
    args = parser.parse_args()
    n = args.docs
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({"ESIGN_HOME": tmp}, project_dir=ROOT)
        company = load_company(settings.company_file)
        init_keys(settings.keys_dir, PASSPHRASE, company_name=company.party.name,
                  director_name=company.director_name, director_title=company.director_title)
        ws = Workspace(settings, passphrase=PASSPHRASE)
        template = ws.templates.get("contrato_servicos")
        sealer = ws.sealer
        deals = [make_deal(str(100_000 + i), title=f"Contrato de manutenção {i}") for i in range(n)]
        warm = render_document(template, company.party, deals[0], "DOC-0000000000000000", datetime.now(UTC))
        company_sign(warm.pdf, warm.slots, sealer, signer_name="x", signer_title="y", company_name="z",
                     signed_at=datetime.now(UTC))

        figures: dict[str, float] = {}
        start = time.perf_counter()
        for i, deal in enumerate(deals):
            doc = render_document(template, company.party, deal, f"DOC-{i:016d}", datetime.now(UTC))
            company_sign(doc.pdf, doc.slots, sealer, signer_name=company.director_name,
                         signer_title=company.director_title, company_name=company.party.name,
                         signed_at=datetime.now(UTC))
        figures["primitive render+company_sign docs/s"] = _rate(n, time.perf_counter() - start)

        start = time.perf_counter()
        ids = []
        for deal in deals:
            record, _ = prepare_document(ws, replace(deal, id="L" + deal.id), "contrato_servicos")
            company_sign_document(ws, record.id, approved_by="bench")
            ids.append(record.id)
        figures["ledger prepare+company_sign docs/s"] = _rate(n, time.perf_counter() - start)

        for doc_id in ids:
            ws.ledger.move(doc_id, Stage.SENT, "sent", EventInfo(actor="bench"))
            ws.ledger.move(doc_id, Stage.CLIENT_SIGNED, "client_signed", EventInfo(actor="bench"))
        start = time.perf_counter()
        for doc_id in ids:
            finalize_signed_document(ws, doc_id, sample_evidence())
        figures["ledger finalize (client block + certificate + seal) docs/s"] = _rate(n, time.perf_counter() - start)

        start = time.perf_counter()
        ok = sum(verify_pdf(ws.version_path("final", d).read_bytes(), ws.ledger, ws.trust_roots).authentic
                 for d in ids)
        figures["verify docs/s"] = _rate(n, time.perf_counter() - start)
        if ok != n:
            raise SystemExit(f"only {ok} of {n} final documents verified")

    figures["peak RSS MiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["cpu seconds"] = time.process_time()
    print(f"document core, one process, {n} documents")
    for name, value in figures.items():
        print(f"  {value:9.1f}  {name}")
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"chain-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps({"docs": n, "figures": figures}, indent=2))
    print(f"  figures written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
