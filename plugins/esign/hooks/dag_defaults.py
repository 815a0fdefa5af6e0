"""What every esign DAG shares: owner, retries with exponential backoff, start date, the failure notifier
(:class:`~esign.hooks.notifier.FailureNotifier`: Airflow's SmtpNotifier on ``smtp_default``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum

from esign.hooks.notifier import FailureNotifier
from esign.settings import load_settings

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")

#: The Airflow pool of every task that calls the CRM: it bounds how many such tasks run at once across all runs and
#: DAGs (mapped batches, a collect next to a send), while the shared request budget paces their requests.
CRM_POOL = "esign_crm"
CRM_POOL_SLOTS = 4  # the default of ESIGN_CRM_POOL_SLOTS in esign.settings
CRM_POOL_DESCRIPTION = "esign tasks that call the CRM (Bitrix24: one request budget per portal)"


def ensure_crm_pool(slots: int | None = None) -> None:
    """Create the CRM pool (or keep its size when an operator changed it); ``slots`` from ``ESIGN_CRM_POOL_SLOTS``."""
    from airflow.models.pool import Pool

    existing = Pool.get_pool(CRM_POOL)
    if existing is not None and slots is None:
        return
    # lenient: a wrong variable elsewhere is reported by the task that uses it, not by the pool's set-up
    wanted = slots if slots is not None else load_settings(lenient=True).crm_pool_slots
    Pool.create_or_update_pool(CRM_POOL, wanted, CRM_POOL_DESCRIPTION, include_deferred=False)


def default_args(retries: int = 3, retry_delay: timedelta = timedelta(seconds=20)) -> dict[str, Any]:
    return {
        "owner": "esign-ops",
        "retries": retries,
        "retry_delay": retry_delay,
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "on_failure_callback": FailureNotifier(),
    }
