"""One request budget per portal, shared by every process and worker of a deployment.

Why shared: the portal counts requests per portal (and source address) in one leaky bucket; mapped tasks, a
concurrent collect and extra Celery workers each pacing themselves would together overrun it. Each request instead
*reserves* its slot in a bucket all processes see (Redis in production, a locked file in the embedded mode): the
level drains ``rate`` per second; a request that would overflow ``burst`` is given the moment it fits, the level is
raised at once (so the next process queues behind it), and the caller sleeps outside any lock until then. A request
that reaches the portal later than its reservation only finds the portal's bucket emptier.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from esign.crm.bitrix24.ratelimit import Clock, LeakyBucket, RequestBudget, Sleep
from esign.crm.bitrix24.settings import Bitrix24Settings
from esign.errors import ConfigError

log = logging.getLogger(__name__)

ENV_REDIS_URL = "ESIGN_REDIS_URL"


def reserve(level: float, at: float, now: float, burst: int, rate: float) -> tuple[float, float]:
    """The bucket after one more request asked at ``now``: (new level, seconds to wait before sending).

    One slot of the burst is kept free: requests that leave a little late (a busy worker, the network) and bunch up
    at the portal stay under its limit, up to one drain interval of delay (0.5 s at 2 requests/s).
    """
    drained = max(0.0, level - max(0.0, now - at) * rate)
    new_level = drained + 1
    limit = burst - 1 if burst > 1 else burst
    return new_level, max(0.0, (new_level - limit) / rate)


class FileBucket:
    """The bucket's state in a small file, changed under an exclusive ``flock``: every process on this host (the
    embedded mode, ``make demo``, a single-machine deployment) shares it."""

    def __init__(self, path: Path, burst: int = 50, rate: float = 2.0, *, sleep: Sleep = time.sleep,
                 clock: Clock = time.time) -> None:
        if burst < 1 or rate <= 0:
            raise ValueError("burst must be >= 1 and rate > 0")
        self.path, self.burst, self.rate = path, burst, rate
        self._sleep, self._clock = sleep, clock  # the wall clock: every process of the host reads the same
        self.waited = 0.0
        path.parent.mkdir(parents=True, exist_ok=True)

    def _update(self, full: bool) -> float:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.read(fd, 4096)
            try:
                state = json.loads(raw) if raw else {}
                level, at = float(state.get("level", 0.0)), float(state.get("at", 0.0))
            except (ValueError, AttributeError):  # a torn or foreign file: start from an empty bucket
                level, at = 0.0, 0.0
            now = self._clock()
            if full:
                level, wait = max(float(self.burst), level - max(0.0, now - at) * self.rate), 0.0
            else:
                level, wait = reserve(level, at, now, self.burst, self.rate)
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps({"level": level, "at": now}).encode())
            return wait
        finally:
            os.close(fd)  # closing releases the lock

    def acquire(self) -> float:
        wait = self._update(full=False)
        if wait > 0:
            self._sleep(wait)
            self.waited += wait
        return wait

    def fill(self) -> None:
        self._update(full=True)


#: Atomic in Redis: drain by the server's clock (one clock for every host), reserve, or fill on a 503.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local burst, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local level = tonumber(redis.call('HGET', KEYS[1], 'level') or '0')
local at = tonumber(redis.call('HGET', KEYS[1], 'at') or tostring(now))
local drained = level - math.max(0, now - at) * rate
if drained < 0 then drained = 0 end
local wait = 0
if ARGV[3] == 'fill' then
  level = math.max(burst, drained)
else
  level = drained + 1
  local limit = burst
  if burst > 1 then limit = burst - 1 end
  wait = math.max(0, (level - limit) / rate)
end
redis.call('HSET', KEYS[1], 'level', tostring(level), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return tostring(wait)
"""


class RedisBucket:
    """The bucket in Redis (one hash per portal), so the workers of every host share it."""

    def __init__(self, url: str, key: str, burst: int = 50, rate: float = 2.0, *, sleep: Sleep = time.sleep,
                 client: Any = None) -> None:
        if burst < 1 or rate <= 0:
            raise ValueError("burst must be >= 1 and rate > 0")
        import redis

        self.key, self.burst, self.rate = key, burst, rate
        self._redis = client or redis.Redis.from_url(url, socket_timeout=10)
        self._script = self._redis.register_script(_SCRIPT)
        self._sleep = sleep
        self.waited = 0.0

    def _run(self, mode: str) -> float:
        return float(self._script(keys=[self.key], args=[self.burst, self.rate, mode]))

    def acquire(self) -> float:
        wait = self._run("take")
        if wait > 0:
            self._sleep(wait)
            self.waited += wait
        return wait

    def fill(self) -> None:
        self._run("fill")


_shared: dict[tuple[str, str, int, float], RequestBudget] = {}
_lock = threading.Lock()


def request_budget(settings: Bitrix24Settings, *, redis_url: str, state_dir: Path) -> RequestBudget:
    """The portal's shared budget: Redis when ``redis_url`` (``ESIGN_REDIS_URL``) is set, else a lock file under
    ``state_dir``. One object per portal and process (the threads of a worker share it too)."""
    host = settings.webhook.host
    url = redis_url.strip()
    where = url or str(state_dir)
    key = (where, host, settings.burst, settings.rate)
    with _lock:
        if key not in _shared:
            if url:
                if not url.startswith(("redis://", "rediss://", "unix://")):
                    raise ConfigError(f"{ENV_REDIS_URL}: expected a redis:// URL")
                _shared[key] = RedisBucket(url, f"esign:bitrix24:budget:{host}", settings.burst, settings.rate)
            else:
                safe = "".join(c if c.isalnum() or c in ".-" else "_" for c in host)
                _shared[key] = FileBucket(state_dir / f"bitrix24-{safe}.bucket", settings.burst, settings.rate)
        return _shared[key]


__all__ = ["ENV_REDIS_URL", "FileBucket", "LeakyBucket", "RedisBucket", "request_budget", "reserve"]
