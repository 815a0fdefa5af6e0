"""esign_send: pull deals in the trigger stage, render, get the director's approval, sign, send links.

Thin wiring only: every step is a function of ``esign.pipeline.send``, imported when the task runs. Trigger it
from the UI form or the API. Per batch, two task instances (prepare, deliver): Airflow's cost is per task instance.
``plan`` also takes over the batches earlier runs left owing work, so this run's approval and ``deliver`` finish
them; a ``deliver`` that cannot finish its batch (relay down, CRM refusing) fails after recording what it did.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Asset, Param, dag, task

from esign.hooks.dag_defaults import CRM_POOL, START_DATE, default_args
from esign.hooks.steps import run_step

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
        "attach": Param(None, type=["null", "string"], enum=[None, "file", "link"],
                        description="CRM comments: file = the PDF attached (one request each); link = links"),
        "auto_approve": Param(None, type=["null", "boolean"], description="skip the director (demo/tests only)"),
        "dry_run": Param(None, type=["null", "boolean"], description="validate and render only"),
    },
)
def esign_send() -> None:
    @task(pool=CRM_POOL)
    def plan(params: dict[str, Any] | None = None, run_id: str | None = None) -> list[dict[str, Any]]:
        return run_step("send.plan_batches", params, str(run_id))  # type: ignore[no-any-return]

    @task(max_active_tis_per_dagrun=2, pool=CRM_POOL)
    def prepare(batch: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, int]:
        return run_step("send.prepare_batch", params, batch)  # type: ignore[no-any-return]

    @task.branch
    def summarize(ti: Any = None, params: dict[str, Any] | None = None, run_id: str | None = None) -> list[str]:
        """What the director is asked to approve (XCom ``summary``), then who approves: the director, or the
        configuration's auto-approval (demo and tests only; refused once permission users exist)."""
        summary, auto = run_step("send.summarize_for_approval", params, str(run_id))
        if ti is not None:
            ti.xcom_push(key="summary", value=summary)
        return ["record_approval"] if auto else ["director_approval", "record_approval"]

    director_approval = ApprovalOperator(
        task_id="director_approval",
        subject="Aprovar lote de contratos para assinatura da empresa ({{ run_id }})",
        body="{{ ti.xcom_pull(task_ids='summarize', key='summary') }}",
        response_timeout=timedelta(days=3),
    )

    @task(trigger_rule="none_failed_min_one_success")
    def record_approval(ti: Any = None, params: dict[str, Any] | None = None, run_id: str | None = None) -> int:
        answer = ti.xcom_pull(task_ids="director_approval") if ti is not None else None
        responder = (answer.get("responded_by_user") or {}).get("name") if answer else None
        return run_step("send.record_approval", params, str(run_id), bool(answer), responder)  # type: ignore[no-any-return]

    @task(max_active_tis_per_dagrun=2, outlets=[DOCUMENTS_SENT], pool=CRM_POOL)
    def deliver(batch: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, dict[str, int]]:
        """Company-sign the batch, send each client its link, move the deals to "awaiting signature"."""
        return run_step("send.deliver_batch", params, batch)  # type: ignore[no-any-return]

    batches = plan()
    prepared = prepare.expand(batch=batches)
    branch = summarize()
    approved = record_approval()
    prepared >> branch >> [director_approval, approved]
    director_approval >> approved
    approved >> deliver.expand(batch=batches)


esign_send()
