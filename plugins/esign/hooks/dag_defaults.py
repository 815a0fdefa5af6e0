"""What every esign DAG shares: owner, retries with exponential backoff, start date, the failure notifier."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pendulum

log = logging.getLogger(__name__)

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")

#: The Airflow pool of every task that calls the CRM: it bounds how many such tasks run at once across all runs and
#: DAGs (mapped batches, a collect next to a send), while the shared request budget paces their requests.
CRM_POOL = "esign_crm"
CRM_POOL_SLOTS = 4
CRM_POOL_DESCRIPTION = "esign tasks that call the CRM (Bitrix24: one request budget per portal)"


def ensure_crm_pool(slots: int | None = None) -> None:
    """Create the CRM pool (or keep its size when an operator changed it); ``slots`` from ``ESIGN_CRM_POOL_SLOTS``."""
    from airflow.models.pool import Pool

    existing = Pool.get_pool(CRM_POOL)
    if existing is not None and slots is None:
        return
    wanted = slots if slots is not None else int(os.environ.get("ESIGN_CRM_POOL_SLOTS", CRM_POOL_SLOTS))
    Pool.create_or_update_pool(CRM_POOL, wanted, CRM_POOL_DESCRIPTION, include_deferred=False)


def notify_failure(context: dict[str, Any]) -> None:
    """A task failed for good (retries exhausted): log it and, when ``ESIGN_OPS_EMAIL`` is set, email ops.

    Never raises: a broken notification must not hide the task's own failure.
    """
    ti = context.get("ti") or context.get("task_instance")
    what = (f"{getattr(ti, 'dag_id', '?')}.{getattr(ti, 'task_id', '?')} run {context.get('run_id', '?')} "
            f"try {getattr(ti, 'try_number', '?')}: {context.get('exception')!r}")
    log.error("esign task failed: %s", what)
    recipient = os.environ.get("ESIGN_OPS_EMAIL", "")
    if not recipient:
        return
    try:
        from esign.hooks.airflow_services import smtp_from_connection

        smtp = smtp_from_connection()
        message = EmailMessage()
        message["From"], message["To"] = smtp.from_addr, recipient
        message["Subject"] = f"[esign] task failed: {getattr(ti, 'dag_id', '?')}.{getattr(ti, 'task_id', '?')}"
        message.set_content(f"{what}\n\nSee the task log in Airflow for details.\n")
        import smtplib

        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as server:
            if smtp.starttls:
                server.starttls()
            if smtp.username:
                server.login(smtp.username, smtp.password)
            server.send_message(message)
    except Exception:  # the notification is best effort; the failure is already logged above
        log.exception("could not email the failure notice to ESIGN_OPS_EMAIL")


def default_args(retries: int = 3, retry_delay: timedelta = timedelta(seconds=20)) -> dict[str, Any]:
    return {
        "owner": "esign-ops",
        "retries": retries,
        "retry_delay": retry_delay,
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "on_failure_callback": notify_failure,
    }
