"""esign_collect: finalize what clients signed, write results to the CRM, remind, expire. Every 10 minutes.

Thin wiring only: every step is a function of ``esign.pipeline.collect``, imported inside its task body. Three
steps, so a run costs Airflow few task instances: start (recover, expire, plan ranges) -> finalize per range ->
wrap-up (deliveries earlier runs left, then write-backs, reminders, rules; fails when something is still owed).
A run that completed documents tells ``esign_report`` so (the ``esign://documents/completed`` Asset).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from esign.hooks.assets import COMPLETED_EVENTS, completed_count, record_completed
from esign.hooks.dag_defaults import CRM_POOL, START_DATE, default_args
from esign.hooks.steps import run_step

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
    def start() -> list[dict[str, Any]]:
        """Repair what a crash left (outbox rows, sent marks), expire overdue links, cut the signed
        documents into ID ranges."""
        from esign.pipeline.collect import start_run

        return run_step(start_run, None)

    @task(multiple_outputs=False, max_active_tis_per_dagrun=2, pool=CRM_POOL)
    def finalize(id_range: dict[str, Any]) -> dict[str, int]:
        from esign.pipeline.collect import finalize_range

        return run_step(finalize_range, get_current_context()["params"], id_range)

    @task(multiple_outputs=False, trigger_rule="none_failed", outlets=[COMPLETED_EVENTS], pool=CRM_POOL)
    def wrap_up() -> dict[str, dict[str, int]]:
        """Deliver what earlier runs left (pending messages, approved batches of a dead send run), then write back
        endings, send reminders, evaluate the rules; fails loudly, after all that, when work is still owed.
        Documents completed by this run's finalize tasks become one ``esign://documents/completed`` event."""
        from esign.pipeline.collect import wrap_up as wrap_up_step

        context = get_current_context()
        summary = run_step(wrap_up_step, context["params"])
        record_completed(context["outlet_events"], completed_count(context["ti"].xcom_pull(task_ids=["finalize"])))
        return summary

    finalize.expand(id_range=start()) >> wrap_up()


esign_collect()
