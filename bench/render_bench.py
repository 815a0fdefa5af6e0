"""Rendering throughput: the sample service contract for 200 deals on one core.

Run from the repository root: ``.venv/bin/python bench/render_bench.py [count]``. Templates and fonts
are loaded before the clock starts (once per process, as in a worker); each deal differs so nothing is
cached between documents.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from esign.model import Deal, LineItem, Manager, Party
from esign.render import TemplateLibrary, register_fonts, render_document

ROOT = Path(__file__).resolve().parent.parent
COMPANY = Party(name="Acme Serviços Digitais Ltda", tax_id="11.222.333/0001-81",
                address="Av. Paulista, 1000, 10º andar, São Paulo/SP", representative="Maria Aparecida Souza",
                representative_title="Diretora Executiva", email="contratos@acme.com.br")


def deal(n: int) -> Deal:
    client = Party(name=f"Cliente {n} Comércio Ltda", tax_id="12.ABC.345/01DE-35",
                   address=f"Rua das Flores, {n}, São Paulo/SP", representative=f"Pessoa {n}",
                   representative_title="Sócia", email=f"cliente{n}@example.com.br")
    items = tuple(LineItem(f"Serviço {k} do negócio {n}", Decimal(k + 1), Decimal("150.00") + n)
                  for k in range(1 + n % 5))
    return Deal(id=str(10_000 + n), title=f"Implantação {n}", amount=sum((i.total for i in items), Decimal(0)),
                currency="BRL", counterparty=client, line_items=items,
                manager=Manager(id="7", name="Ana Lima", email="ana@acme.com.br"))


def main(count: int = 200) -> None:
    template = TemplateLibrary(ROOT / "templates").get("contrato_servicos")
    register_fonts()
    deals = [deal(n) for n in range(count)]
    issued = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
    render_document(template, COMPANY, deals[0], "WARMUP", issued)
    pages = size = 0
    start = time.perf_counter()
    for n, item in enumerate(deals):
        doc = render_document(template, COMPANY, item, f"DOC-{n:06d}", issued + timedelta(minutes=n))
        pages += doc.page_count
        size += len(doc.pdf)
    elapsed = time.perf_counter() - start
    print(f"rendered {count} contracts ({pages} pages, {size / count / 1024:.0f} kB each) in {elapsed:.2f} s: "
          f"{count / elapsed:.1f} docs/s on one core")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
