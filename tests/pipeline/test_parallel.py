"""The process pool runs the pipeline's own steps on several workers without breaking exactly-once."""

from __future__ import annotations

from esign.model import Stage
from esign.pipeline import send
from esign.pipeline.parallel import StepPool, WorkerSpec
from tests.pipeline.conftest import Pipe
from tests.support import TEST_PASSPHRASE


def test_batches_on_two_workers_give_one_document_per_deal(pipe: Pipe) -> None:
    services = pipe.services
    batches = send.plan_batches(services, "run-pool")
    spec = WorkerSpec(settings=services.ws.settings, config=services.config, smtp=services.smtp,
                      passphrase=TEST_PASSPHRASE)
    with StepPool(spec, workers=2) as pool:
        assert len({r.pid for r in pool.warm_up()}) >= 1
        first = [r.value for r in pool.map(send.prepare_batch, batches)]
        again = [r.value for r in pool.map(send.prepare_batch, batches)]  # a retry of every mapped task
    assert sum(c.get("prepared", 0) + c.get("quarantined", 0) for c in first) == pipe.seeded.deals
    assert [c.get("prepared") for c in first] == [c.get("prepared") for c in again]  # nothing created twice
    assert not any(c.get("errors") for c in first + again)
    counts = services.ws.ledger.stage_counts()
    assert sum(counts.values()) == pipe.seeded.deals
    assert counts.get(Stage.DRAFT.value, 0) + counts.get(Stage.QUARANTINED.value, 0) == pipe.seeded.deals


def test_only_pipeline_functions_run_by_name() -> None:
    import pytest

    from esign.pipeline.parallel import _resolve

    with pytest.raises(ValueError):
        _resolve("os:system")
    with pytest.raises(ValueError):
        _resolve("tests.pipeline.test_parallel:_double")  # not a pipeline step unless the pool's owner names it
    assert _resolve("tests.pipeline.test_parallel:_double", ("tests.pipeline.",))(None, 2) == 4


def _double(_services: object, n: int) -> int:
    return 2 * n


def test_a_caller_names_the_modules_of_its_own_steps(pipe: Pipe) -> None:
    """Benchmarks and tests run their own composite steps by naming their modules; the package names none."""
    services = pipe.services
    spec = WorkerSpec(settings=services.ws.settings, config=services.config, smtp=services.smtp,
                      passphrase=TEST_PASSPHRASE)
    with StepPool(spec, workers=1, step_modules=("tests.pipeline.",)) as pool:
        assert [r.value for r in pool.map(_double, [1, 2])] == [2, 4]
