"""esign_send: pull deals in the trigger stage, render, get the director's approval, sign, send links.

Thin wiring only: every step is a function of ``esign.pipeline.send`` (the approval's of ``esign.pipeline.approval``),
imported inside its task body, so parsing this file needs Airflow and the two registries alone (the ``channel``
and ``crm`` params offer what :mod:`esign.dispatch.registry` and :mod:`esign.crm.registry` hold). Trigger it
from the UI form or the API. Per batch, two task instances (prepare, deliver): Airflow's cost is per task instance.
``plan`` also takes over the batches earlier runs left owing work, so this run's approval and ``deliver`` finish
them; a ``deliver`` that cannot finish its batch (relay down, CRM refusing) fails after recording what it did.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Param, dag, get_current_context, task

from esign.crm.registry import crm_names
from esign.dispatch.registry import preferences
from esign.hooks.dag_defaults import CRM_POOL, START_DATE, default_args
from esign.hooks.steps import run_step
from esign.model.signers import SigningOrder

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
        "channel": Param(None, type=["null", "string"], enum=[None, *preferences()]),
        "crm": Param(None, type=["null", "string"], enum=[None, *crm_names()]),
        "attach": Param(None, type=["null", "string"], enum=[None, "file", "link"],
                        description="CRM comments: file = the PDF attached (one request each); link = links"),
        "signing_order": Param(None, type=["null", "string"], enum=[None, *(o.value for o in SigningOrder)],
                               description="several signers: sequential (one after another) or parallel; "
                                           "overrides the template and config/pipeline.yaml"),
        "auto_approve": Param(None, type=["null", "boolean"], description="skip the director (demo/tests only)"),
        "dry_run": Param(None, type=["null", "boolean"], description="validate and render only"),
    },
)
def esign_send() -> None:
    @task(pool=CRM_POOL)
    def plan() -> list[dict[str, Any]]:
        from esign.pipeline.send import plan_batches

        context = get_current_context()
        return run_step(plan_batches, context["params"], context["run_id"])

    @task(multiple_outputs=False, max_active_tis_per_dagrun=2, pool=CRM_POOL)
    def prepare(batch: dict[str, Any]) -> dict[str, int]:
        from esign.pipeline.send import prepare_batch

        return run_step(prepare_batch, get_current_context()["params"], batch)

    @task.branch
    def summarize() -> list[str]:
        """What the director is asked to approve (XCom ``summary``), then who approves: the director, or the
        configuration's auto-approval (demo and tests only; refused once permission users exist)."""
        from esign.hooks.approval_request import approval_request
        from esign.pipeline.approval import summarize_for_approval

        context = get_current_context()
        summary, auto = run_step(summarize_for_approval, context["params"], context["run_id"])
        context["ti"].xcom_push(key="summary", value=summary)
        context["ti"].xcom_push(key="request", value=run_step(approval_request, context["params"], summary))
        return ["record_approval"] if auto else ["director_approval", "record_approval"]

    director_approval = ApprovalOperator(
        task_id="director_approval",
        subject="{{ ti.xcom_pull(task_ids='summarize', key='request')['subject'] }}",
        body="{{ ti.xcom_pull(task_ids='summarize', key='request')['body'] }}",
        response_timeout=timedelta(days=3),
    )

    @task(trigger_rule="none_failed_min_one_success")
    def record_approval() -> int:
        from esign.pipeline.approval import record_approval as record

        context = get_current_context()
        answer = context["ti"].xcom_pull(task_ids="director_approval")
        responder = (answer.get("responded_by_user") or {}).get("name") if answer else None
        return run_step(record, context["params"], context["run_id"], bool(answer), responder)

    @task(multiple_outputs=False, max_active_tis_per_dagrun=2, pool=CRM_POOL)
    def deliver(batch: dict[str, Any]) -> dict[str, dict[str, int]]:
        """Company-sign the batch, send each client its link, move the deals to "awaiting signature"."""
        from esign.pipeline.send import deliver_batch

        return run_step(deliver_batch, get_current_context()["params"], batch)

    batches = plan()
    prepared = prepare.expand(batch=batches)
    branch = summarize()
    approved = record_approval()
    prepared >> branch >> [director_approval, approved]
    director_approval >> approved
    approved >> deliver.expand(batch=batches)


esign_send()
