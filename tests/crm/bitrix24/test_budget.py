"""One request budget per portal across processes: four worker processes calling the fake portal at once, whose
own leaky bucket answers 503 on every overrun. Shared (a lock file, or Redis) they never overrun it; each pacing
itself alone, they do."""

from __future__ import annotations

import multiprocessing
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from esign.crm.bitrix24 import Bitrix24Crm, Bitrix24Settings, WebhookUrl
from esign.crm.bitrix24.budget import FileBucket, RedisBucket, request_budget, reserve
from esign.crm.bitrix24.ratelimit import LeakyBucket
from tests.crm.bitrix24.fake_portal import FakePortal, Running, ServerBucket

BURST, RATE = 5, 10.0  # a small, fast portal so the test takes seconds; the same arithmetic as 50 and 2/s
PROCESSES, CALLS = 4, 10


def _worker(url: str, budget: str, where: str, start: multiprocessing.synchronize.Barrier,  # type: ignore[name-defined]
            results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    settings = Bitrix24Settings(WebhookUrl.parse(url), burst=BURST, rate=RATE, max_attempts=1)
    bucket = (FileBucket(Path(where), BURST, RATE) if budget == "file"
              else RedisBucket(where, "esign:bitrix24:budget:test", BURST, RATE) if budget == "redis"
              else LeakyBucket(BURST, RATE))
    refused = 0
    with Bitrix24Crm(settings, bucket=bucket) as crm:
        start.wait()
        for _ in range(CALLS):
            try:
                crm.transport.call("crm.category.list", {"entityTypeId": 2})
            except Exception:  # counted: the portal refused (503) with no retry allowed
                refused += 1
    results.put(refused)


def _campaign(portal: FakePortal, server: Running, budget: str, where: str) -> tuple[int, int]:
    """Four processes at once; (requests the portal saw, of which refused for the rate)."""
    portal.bucket = ServerBucket(burst=BURST, rate=RATE, clock=time.monotonic)
    context = multiprocessing.get_context("fork")  # real processes, started without re-importing
    start = context.Barrier(PROCESSES)
    results = context.Queue()
    procs = [context.Process(target=_worker, args=(server.webhook(portal), budget, where, start, results))
             for _ in range(PROCESSES)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    refused = sum(results.get(timeout=5) for _ in procs)
    overruns = sum(e.status == 503 for e in portal.log)
    assert overruns == refused
    return len(portal.log), overruns


@pytest.fixture
def fake() -> Iterator[tuple[FakePortal, Running]]:
    portal = FakePortal()
    running = Running(portal)
    yield portal, running
    running.stop()


def test_four_processes_sharing_a_lock_file_never_overrun_the_portal(fake: tuple[FakePortal, Running],
                                                                     tmp_path: Path) -> None:
    portal, server = fake
    seen, overruns = _campaign(portal, server, "file", str(tmp_path / "bitrix24.bucket"))
    assert (seen, overruns) == (PROCESSES * CALLS, 0)


def test_four_processes_pacing_themselves_alone_overrun_it(fake: tuple[FakePortal, Running]) -> None:
    """The control: the same campaign with one bucket per process (what every process did before)."""
    portal, server = fake
    _seen, overruns = _campaign(portal, server, "alone", "")
    assert overruns > 0


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)  # the server is starting: polled, bounded
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def test_four_processes_sharing_redis_never_overrun_the_portal(fake: tuple[FakePortal, Running],
                                                               redis_url: str) -> None:
    portal, server = fake
    seen, overruns = _campaign(portal, server, "redis", redis_url)
    assert (seen, overruns) == (PROCESSES * CALLS, 0)


def test_the_reservation_arithmetic() -> None:
    assert reserve(0.0, 0.0, 100.0, 50, 2.0) == (1.0, 0.0)
    assert reserve(49.0, 100.0, 100.0, 50, 2.0) == (50.0, 0.5)  # one slot kept free
    assert reserve(60.0, 100.0, 105.0, 50, 2.0) == (51.0, 1.0)  # drained 10 in 5 s, then 2 over the limit


def test_the_budget_is_one_per_portal_and_place(tmp_path: Path) -> None:
    settings = Bitrix24Settings(WebhookUrl.parse("https://a.bitrix24.com.br/rest/1/abc123/"))
    other = Bitrix24Settings(WebhookUrl.parse("https://b.bitrix24.com.br/rest/1/abc123/"))
    first = request_budget(settings, redis_url="", state_dir=tmp_path)
    assert request_budget(settings, redis_url="", state_dir=tmp_path) is first
    assert request_budget(other, redis_url="", state_dir=tmp_path) is not first
    assert isinstance(first, FileBucket) and first.path.name == "bitrix24-a.bitrix24.com.br.bucket"
    from esign.errors import ConfigError

    with pytest.raises(ConfigError, match="ESIGN_REDIS_URL"):
        request_budget(settings, redis_url="http://nope", state_dir=tmp_path)


def test_a_503_fills_the_shared_bucket_for_every_process(tmp_path: Path) -> None:
    slept: list[float] = []
    path = tmp_path / "b.bucket"
    one, other = FileBucket(path, 50, 2.0, sleep=slept.append), FileBucket(path, 50, 2.0, sleep=slept.append)
    assert one.acquire() == 0.0 and slept == []
    one.fill()  # the portal answered QUERY_LIMIT_EXCEEDED to this process
    assert 0.9 < other.acquire() <= 1.0  # the other process now waits too (one slot kept free: 2 slots = 1 s)
    assert other.waited == slept[0]
    path.write_text("not json")  # a torn file starts from an empty bucket instead of failing every request
    assert one.acquire() == 0.0
