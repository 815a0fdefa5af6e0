"""The director's approval of a send run: what they are asked (the summary) and who approved (recorded per batch).

Nothing is company-signed in a batch nobody approved. The run's batches include those it took over from earlier
runs (:mod:`esign.pipeline.resume`): the summary names them as carried over, and approving the run approves the
ones that had no approval yet.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from esign.access.approval import authorize_approval, login_for_responder
from esign.access.org import CrmOrgChart
from esign.model import Stage
from esign.pipeline.schema import batches
from esign.pipeline.services import Services
from esign.store import DocumentRecord
from esign.store.schema import documents


def summarize_run(services: Services, run_id: str, sample_size: int = 5) -> dict[str, Any]:
    """Counts and a sample of what the director is asked to approve; counted in SQL, so a 100,000-deal run
    costs the task a few rows, not every document. ``carried_over``: the batches taken over from earlier runs."""
    run_batches = select(batches.c.id).where(batches.c.run_id == run_id)
    in_run = documents.c.batch_id.in_(run_batches.scalar_subquery())
    with services.ws.engine.connect() as conn:
        rows = conn.execute(select(batches.c.id, batches.c.approved_by, batches.c.counts_json)
                            .where(batches.c.run_id == run_id).order_by(batches.c.id)).all()
        stages = {str(stage): int(n) for stage, n in
                  conn.execute(select(documents.c.stage, func.count()).where(in_run).group_by(documents.c.stage))}
        drafts = conn.execute(select(documents).where(in_run, documents.c.stage == Stage.DRAFT.value)
                              .order_by(documents.c.batch_id, documents.c.id).limit(sample_size)).all()
    sample = [{"document": r.id, "deal": r.deal_id, "title": r.title, "counterparty": r.counterparty_name}
              for r in map(DocumentRecord.from_row, drafts)]
    carried = [(r.id, r.approved_by, json.loads(r.counts_json or "{}").get("taken_over_from", [])) for r in rows]
    carried = [c for c in carried if c[2]]
    return {"run_id": run_id, "batches": len(rows), "stages": stages, "to_sign": stages.get("draft", 0),
            "sample": sample,
            "carried_over": {"batches": len(carried), "from_runs": sorted({c[2][0] for c in carried}),
                             "approved_before": sum(1 for c in carried if c[1])}}


def approve_run(services: Services, run_id: str, approved_by: str, *, user: str | None = None) -> int:
    """Record who approved the run's batches for the company signature; the count of batches approved now.

    Batches approved before (taken over from an earlier, approved run) keep their approval. Once permissions are
    configured, ``user`` must hold ``company.sign`` over every deal of the run, and is what gets recorded;
    otherwise :class:`~esign.access.AccessDeniedError` and nothing is approved.
    """
    approved_by = authorize_approval(services.ws.engine, user, _run_managers(services, run_id),
                                     CrmOrgChart(lambda: services.crm)) or approved_by
    now = datetime.now(UTC)
    with services.ws.engine.begin() as conn:
        result = conn.execute(batches.update().where(batches.c.run_id == run_id, batches.c.approved_by.is_(None))
                              .values(approved_by=approved_by, approved_at=now, updated_at=now))
    return int(result.rowcount or 0)


def summarize_for_approval(services: Services, run_id: str) -> tuple[dict[str, Any], bool]:
    """The run's summary for the director, and whether the configuration approves it instead (demo, tests)."""
    return summarize_run(services, run_id), services.config.auto_approve


def record_approval(services: Services, run_id: str, answered: bool, responder: str | None) -> int:
    """Record the approval: the director's (``responder`` is their Airflow login, mapped to an esign user whose
    rights are checked) when ``answered``, else the configuration's auto-approval. The count of batches."""
    if not answered:
        return approve_run(services, run_id, "auto-approve (configuration)")
    user = login_for_responder(services.ws.engine, responder)  # Airflow login -> esign user
    return approve_run(services, run_id, f"director:{responder or 'unknown'}", user=user)


def _run_managers(services: Services, run_id: str) -> list[str | None]:
    """The distinct responsible managers of the run's drafts: one query, however many documents the run has."""
    run_batches = select(batches.c.id).where(batches.c.run_id == run_id).scalar_subquery()
    query = (select(documents.c.manager_id).distinct()
             .where(documents.c.batch_id.in_(run_batches), documents.c.stage == Stage.DRAFT.value))
    with services.ws.engine.connect() as conn:
        return [row[0] for row in conn.execute(query)]


def approver(services: Services, batch_id: str) -> str | None:
    """Who approved the batch for the company signature (None: nobody yet)."""
    with services.ws.engine.connect() as conn:
        return conn.execute(select(batches.c.approved_by).where(batches.c.id == batch_id)).scalar()
