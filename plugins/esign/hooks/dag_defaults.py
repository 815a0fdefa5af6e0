"""What every esign DAG shares: owner, retries with exponential backoff, start date, the failure notifier
(:class:`~esign.hooks.notifier.FailureNotifier`: Airflow's SmtpNotifier on ``smtp_default``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum

from esign.hooks.notifier import FailureNotifier

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")


def default_args(retries: int = 3, retry_delay: timedelta = timedelta(seconds=20)) -> dict[str, Any]:
    return {
        "owner": "esign-ops",
        "retries": retries,
        "retry_delay": retry_delay,
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "on_failure_callback": FailureNotifier(),
    }
