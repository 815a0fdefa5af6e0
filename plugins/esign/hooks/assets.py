"""The Assets the esign DAGs exchange, defined once.

``DOCUMENTS_COMPLETED``: documents were sealed and completed. ``esign_report`` runs on it (and daily). A collect
run that completed nothing must not start a report, and an Asset in a task's ``outlets`` gets an event whenever the
task succeeds; so ``esign_collect``'s last task names the alias ``COMPLETED_EVENTS`` as its outlet and adds an
event to the Asset through it only when its run completed documents (:func:`record_completed`).
"""

from __future__ import annotations

from collections.abc import Iterable

from airflow.sdk import Asset, AssetAlias
from airflow.sdk.types import OutletEventAccessorsProtocol

DOCUMENTS_COMPLETED = Asset("esign://documents/completed")
COMPLETED_EVENTS = AssetAlias("esign_documents_completed_events")


def completed_count(finalized: Iterable[object] | None) -> int:
    """Documents a run's finalize tasks completed, from their results (``{"finalized": n, ...}`` each; a range
    that did not run has none)."""
    return sum(int(result.get("finalized", 0)) for result in finalized or () if isinstance(result, dict))


def record_completed(outlet_events: OutletEventAccessorsProtocol, completed: int) -> bool:
    """Add a ``DOCUMENTS_COMPLETED`` event (``extra``: the count) when ``completed`` is at least one."""
    if completed < 1:
        return False
    outlet_events[COMPLETED_EVENTS].add(DOCUMENTS_COMPLETED, extra={"completed": completed})
    return True
