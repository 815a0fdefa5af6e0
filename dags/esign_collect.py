"""esign_collect: finalize what clients signed, write results to the CRM, remind, expire. Every 10 minutes.

Thin wiring only: every step is a function of ``esign.pipeline.collect``, imported when the task runs. Three
steps, so a run costs Airflow few task instances: start (recover, expire, plan ranges) -> finalize per range ->
wrap-up (deliveries earlier runs left, then write-backs, reminders, rules; fails when something is still owed).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Asset, Param, dag, task

from esign.hooks.dag_defaults import CRM_POOL, START_DATE, default_args
from esign.hooks.steps import run_step

DOCUMENTS_COMPLETED = Asset("esign://documents/completed")

DEFAULT_ARGS = default_args()


@dag(
    dag_id="esign_collect",
    schedule="*/10 * * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={
        "attach": Param(None, type=["null", "string"], enum=[None, "file", "link"],
                        description="the final PDF on the deal: file = attached (one CRM request each); link = the "
                                    "download and verification links in the comment (50 per Bitrix24 batch)"),
    },
    tags=["esign", "collect"],
    doc_md=__doc__,
)
def esign_collect() -> None:
    @task
    def start() -> list[dict[str, object]]:
        """Repair what a crash left (outbox, request/ledger moves), expire overdue links, cut the signed
        documents into ID ranges."""
        return run_step("collect.start_run", None)  # type: ignore[no-any-return]

    @task(max_active_tis_per_dagrun=2, pool=CRM_POOL)
    def finalize(id_range: dict[str, object], params: dict[str, Any] | None = None) -> dict[str, int]:
        return run_step("collect.finalize_range", params, id_range)  # type: ignore[no-any-return]

    @task(trigger_rule="none_failed", outlets=[DOCUMENTS_COMPLETED], pool=CRM_POOL)
    def wrap_up(params: dict[str, Any] | None = None) -> dict[str, dict[str, int]]:
        """Deliver what earlier runs left (pending messages, approved batches of a dead send run), then write back
        endings, send reminders, evaluate the rules; fails loudly, after all that, when work is still owed."""
        return run_step("collect.wrap_up", params)  # type: ignore[no-any-return]

    finalize.expand(id_range=start()) >> wrap_up()


esign_collect()
