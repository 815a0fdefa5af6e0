"""The benchmark's correctness checks: exactly-once in the ledger and a verified sample of the output.

A fast pipeline that sends twice or seals a broken file is not a result; these run after every bench run and
the run fails (exit 1) if any of them does. Queries stream or aggregate in SQL, so 100,000 deals fit.
"""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import text

from esign.verify import verify_pdf
from esign.verify.poppler import pdfsig_available, pdfsig_problem
from esign.workspace import Workspace

_ONE_ROW_EACH = {
    "documents per deal+template+round > 1":
        "SELECT count(*) FROM (SELECT 1 FROM documents GROUP BY crm, deal_id, template_id, round "
        "HAVING count(*) > 1)",
    "deals with more than one document":
        "SELECT count(*) FROM (SELECT 1 FROM documents GROUP BY crm, deal_id, template_id HAVING count(*) > 1)",
    "requests per document > 1":
        "SELECT count(*) FROM (SELECT 1 FROM signing_requests GROUP BY document_id HAVING count(*) > 1)",
    "invitations per request > 1":
        "SELECT count(*) FROM (SELECT 1 FROM outbox WHERE kind = 'invite' GROUP BY request_id "
        "HAVING count(*) > 1)",
    "requests without an invitation":
        "SELECT count(*) FROM signing_requests r WHERE NOT EXISTS "
        "(SELECT 1 FROM outbox o WHERE o.kind = 'invite' AND o.request_id = r.id)",
    "invitations not sent":
        "SELECT count(*) FROM outbox WHERE kind = 'invite' AND state <> 'sent'",
    "stage differs from the event log":
        "SELECT count(*) FROM documents d WHERE d.stage <> (SELECT e.stage FROM events e WHERE "
        "e.document_id = d.id AND e.stage IS NOT NULL ORDER BY e.id DESC LIMIT 1)",
    "completed without a final version":
        "SELECT count(*) FROM documents d WHERE d.stage = 'completed' AND NOT EXISTS "
        "(SELECT 1 FROM document_versions v WHERE v.document_id = d.id AND v.kind = 'final')",
    "completed not written back":
        "SELECT count(*) FROM documents d WHERE d.stage = 'completed' AND NOT EXISTS "
        "(SELECT 1 FROM pipeline_crm_sync s WHERE s.document_id = d.id AND s.target = 'signed' AND s.state = 'done')",
}


def ledger_problems(ws: Workspace, seeded_deals: int, emails_received: int) -> dict[str, int]:
    """Counts of exactly-once violations (all zero when the run is correct)."""
    with ws.engine.connect() as conn:
        found = {name: int(conn.execute(text(sql)).scalar_one()) for name, sql in _ONE_ROW_EACH.items()}
        documents = int(conn.execute(text("SELECT count(*) FROM documents")).scalar_one())
        sent_email = int(conn.execute(text(
            "SELECT count(*) FROM outbox WHERE channel = 'email' AND state = 'sent'")).scalar_one())
    found["deals without exactly one document"] = abs(seeded_deals - documents)
    found["emails received != emails recorded sent"] = abs(emails_received - sent_email)
    return {name: count for name, count in found.items() if count}


def verify_sample(ws: Workspace, size: int, seed: int = 1) -> dict[str, Any]:
    """``verify_pdf`` (ledger + CA) and poppler's ``pdfsig`` on a random sample of completed documents."""
    with ws.engine.connect() as conn:
        ids = [row[0] for row in conn.execute(text("SELECT id FROM documents WHERE stage = 'completed'"))]
    sample = random.Random(seed).sample(ids, min(size, len(ids)))
    failures: list[str] = []
    pdfsig = pdfsig_available()
    for doc_id in sample:
        path = ws.version_path("final", doc_id)
        verdict = verify_pdf(path.read_bytes(), ws.ledger, ws.trust_roots)
        if not verdict.authentic:
            failures.append(f"{doc_id}: verify_pdf {verdict.status}: {'; '.join(verdict.reason_texts())}")
        problem = pdfsig_problem(path, ws.trust_roots) if pdfsig else None
        if problem:
            failures.append(f"{doc_id}: pdfsig: {problem}")
    return {"sampled": len(sample), "pdfsig": pdfsig, "failures": failures}
