"""esign_collect: finalize what clients signed, write results to the CRM, remind, expire. Every 10 minutes.

Thin wiring only: every step is a function of ``esign.pipeline.collect``.
"""

from __future__ import annotations

from airflow.sdk import Asset, dag, task

from esign.hooks.airflow_services import services_from_context
from esign.hooks.dag_defaults import START_DATE, default_args
from esign.pipeline import collect

DOCUMENTS_COMPLETED = Asset("esign://documents/completed")
FINALIZE_CHUNK = 100

DEFAULT_ARGS = default_args()


@dag(
    dag_id="esign_collect",
    schedule="*/10 * * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["esign", "collect"],
    doc_md=__doc__,
)
def esign_collect() -> None:
    @task
    def recover() -> dict[str, int]:
        return collect.recover(services_from_context(None))

    @task
    def expire() -> dict[str, int]:
        return collect.expire_requests(services_from_context(None))

    @task
    def find_signed() -> list[list[str]]:
        ids = collect.signed_documents(services_from_context(None))
        return [ids[i:i + FINALIZE_CHUNK] for i in range(0, len(ids), FINALIZE_CHUNK)]

    @task(max_active_tis_per_dagrun=2)
    def finalize(document_ids: list[str]) -> dict[str, int]:
        return collect.finalize_documents(services_from_context(None), document_ids)

    @task(trigger_rule="none_failed", outlets=[DOCUMENTS_COMPLETED])
    def write_back() -> dict[str, int]:
        return collect.write_back_endings(services_from_context(None))

    @task(trigger_rule="none_failed")
    def remind() -> dict[str, int]:
        return collect.send_reminders(services_from_context(None))

    @task(trigger_rule="none_failed")
    def rules() -> dict[str, int]:
        return collect.evaluate_rules(services_from_context(None))

    @task(trigger_rule="none_failed")
    def deliver_leftovers() -> dict[str, int]:
        return collect.deliver_leftovers(services_from_context(None))

    chunks = find_signed()
    recover() >> expire() >> chunks
    finalize.expand(document_ids=chunks) >> write_back() >> remind() >> rules() >> deliver_leftovers()


esign_collect()
