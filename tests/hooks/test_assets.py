"""How many documents a collect run completed, from its finalize tasks' results (the Asset event's condition)."""

from __future__ import annotations

from esign.hooks.assets import completed_count


def test_completed_documents_are_summed_over_the_ranges() -> None:
    assert completed_count([{"finalized": 2, "errors": 1}, {"busy": 3}, {"finalized": 5}]) == 7


def test_a_run_without_ranges_completed_nothing() -> None:
    assert completed_count(None) == 0 and completed_count([]) == 0
    assert completed_count([None]) == 0  # what Airflow returns when the mapped finalize did not run
