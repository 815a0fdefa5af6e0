"""esign_send: pull deals in the trigger stage, render, get the director's approval, sign, send links.

Thin wiring only: every step is a function of ``esign.pipeline.send``. Trigger it from the UI form or the API.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Asset, Param, dag, task, task_group

from esign.access.approval import login_for_responder
from esign.hooks.airflow_services import services_from_context
from esign.hooks.dag_defaults import START_DATE, default_args
from esign.pipeline import send

DOCUMENTS_SENT = Asset("esign://documents/sent")

DEFAULT_ARGS = default_args()


@dag(
    dag_id="esign_send",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["esign", "send"],
    doc_md=__doc__,
    params={
        "template": Param(None, type=["null", "string"], description="template id under templates/"),
        "max_deals": Param(None, type=["null", "integer"], minimum=0, description="0 = all deals in the stage"),
        "batch_size": Param(None, type=["null", "integer"], minimum=1, maximum=5000),
        "channel": Param(None, type=["null", "string"], enum=[None, "auto", "email", "sms"]),
        "crm": Param(None, type=["null", "string"], enum=[None, "local", "bitrix24"]),
        "auto_approve": Param(None, type=["null", "boolean"], description="skip the director (demo/tests only)"),
        "dry_run": Param(None, type=["null", "boolean"], description="validate and render only"),
    },
)
def esign_send() -> None:
    @task
    def plan(params: dict[str, Any] | None = None, run_id: str | None = None) -> list[dict[str, Any]]:
        return send.plan_batches(services_from_context(params), str(run_id))

    @task(max_active_tis_per_dagrun=2)
    def prepare(batch: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, int]:
        return send.prepare_batch(services_from_context(params), batch)

    @task
    def summarize(params: dict[str, Any] | None = None, run_id: str | None = None) -> dict[str, Any]:
        return send.summarize_run(services_from_context(params), str(run_id))

    @task.branch
    def choose_approval(params: dict[str, Any] | None = None) -> str:
        return "auto_approve" if services_from_context(params).config.auto_approve else "director_approval"

    @task
    def auto_approve(params: dict[str, Any] | None = None, run_id: str | None = None) -> int:
        return send.approve_run(services_from_context(params), str(run_id), "auto-approve (configuration)")

    director_approval = ApprovalOperator(
        task_id="director_approval",
        subject="Aprovar lote de contratos para assinatura da empresa ({{ run_id }})",
        body="{{ ti.xcom_pull(task_ids='summarize') }}",
        response_timeout=timedelta(days=3),
    )

    @task(trigger_rule="none_failed_min_one_success")
    def record_approval(ti: Any = None, params: dict[str, Any] | None = None, run_id: str | None = None) -> int:
        answer = ti.xcom_pull(task_ids="director_approval") if ti is not None else None
        services = services_from_context(params)
        approver, user = "auto-approve (configuration)", None
        if answer:
            airflow_user = (answer.get("responded_by_user") or {}).get("name")
            approver = f"director:{airflow_user or 'unknown'}"
            user = login_for_responder(services.ws.engine, airflow_user)  # Airflow login -> esign user
        return send.approve_run(services, str(run_id), approver, user=user)

    @task_group
    def deliver(batch: dict[str, Any]) -> None:
        @task(max_active_tis_per_dagrun=2)
        def sign(batch: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, int]:
            return send.sign_batch(services_from_context(params), batch)

        @task(max_active_tis_per_dagrun=2)
        def dispatch(batch: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, int]:
            return send.dispatch_batch(services_from_context(params), batch)

        @task(outlets=[DOCUMENTS_SENT])
        def crm_awaiting(batch: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, int]:
            return send.mark_awaiting(services_from_context(params), batch)

        sign(batch) >> dispatch(batch) >> crm_awaiting(batch)

    batches = plan()
    prepared = prepare.expand(batch=batches)
    summary = summarize()
    branch = choose_approval()
    approved = record_approval()
    prepared >> summary >> branch
    branch >> [auto_approve(), director_approval] >> approved
    approved >> deliver.expand(batch=batches)


esign_send()
