"""Rate limits in the spirit of Commerce Layer's (facts sheet §9).

Two sliding windows per API credential and mode: an *average* window (60 s, all endpoints of a
class together) and a *burst* window (10 s, per endpoint). "Cacheable" requests are GETs, the rest
are "uncacheable". `/oauth/token` allows 30 requests a minute per client IP. Counters live in Redis
when REDIS_URL is set (shared by every process), else in this process.

The sliding window is the usual two-bucket estimate: the previous fixed window's count, weighted by
how much of it still overlaps the sliding window, plus the current window's count.
"""

import logging
import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpResponseBase

logger = logging.getLogger(__name__)

# (mode, cacheable) → (average limit per 60 s, burst limit per 10 s)
DEFAULT_LIMITS = {
    ("live", True): (1000, 250),
    ("test", True): (500, 125),
    ("live", False): (200, 50),
    ("test", False): (100, 25),
}
AVERAGE_INTERVAL = 60
BURST_INTERVAL = 10
TOKEN_ENDPOINT_LIMIT = (30, 60)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    interval: int
    remaining: int


ALWAYS = Decision(True, 0, 0, 0)


class _MemoryCounters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, float]] = {}

    def hit_many(self, windows: list[tuple[str, str, int]]) -> list[tuple[int, int]]:
        return [self.hit(current, previous, ttl) for current, previous, ttl in windows]

    def hit(self, current: str, previous: str, ttl: int) -> tuple[int, int]:
        now = time.monotonic()
        with self._lock:
            if len(self._counts) > 10_000:
                self._counts = {key: value for key, value in self._counts.items() if value[1] > now}
            count, expires = self._counts.get(current, (0, now + ttl))
            if expires <= now:
                count, expires = 0, now + ttl
            self._counts[current] = (count + 1, expires)
            previous_count, previous_expires = self._counts.get(previous, (0, 0.0))
            return count + 1, previous_count if previous_expires > now else 0


class _RedisCounters:
    def __init__(self, url: str) -> None:
        from redis import Redis

        self._redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def hit_many(self, windows: list[tuple[str, str, int]]) -> list[tuple[int, int]]:
        """Every window of a request in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        for current, previous, ttl in windows:
            pipe.incr(current)
            pipe.expire(current, ttl)
            pipe.get(previous)
        results = pipe.execute()
        return [(int(results[i]), int(results[i + 2] or 0)) for i in range(0, len(results), 3)]


_memory = _MemoryCounters()
_redis_by_url: dict[str, _RedisCounters] = {}


def _counters():
    url = settings.REDIS_URL
    if not url:
        return _memory
    if url not in _redis_by_url:
        _redis_by_url[url] = _RedisCounters(url)
    return _redis_by_url[url]


def _hit(*windows: tuple[str, int, int]) -> list[Decision]:
    """Count one request in each `(key, limit, interval)` window."""
    now = time.time()
    prefix = getattr(settings, "API_RATE_LIMIT_PREFIX", "ratelimit")
    buckets = [int(now // interval) for _, _, interval in windows]
    keys = [
        (f"{prefix}:{key}:{bucket}", f"{prefix}:{key}:{bucket - 1}", interval * 2)
        for (key, _, interval), bucket in zip(windows, buckets, strict=True)
    ]
    try:
        counts = _counters().hit_many(keys)
    except Exception as exc:  # noqa: BLE001 - an unreachable counter store must not take the API down
        logger.warning("rate limit store unavailable, request allowed: %s", exc)
        return [ALWAYS for _ in windows]
    decisions = []
    for (_, limit, interval), (count, previous) in zip(windows, counts, strict=True):
        overlap = 1 - (now % interval) / interval
        estimate = previous * overlap + count
        decisions.append(Decision(estimate <= limit, limit, interval, max(0, limit - math.ceil(estimate))))
    return decisions


def check_api_request(*, client_id: str, mode: str, method: str, endpoint: str) -> Decision:
    """Count one request of a credential; the decision reports the tighter of the two windows."""
    if not settings.API_RATE_LIMITS_ENABLED:
        return ALWAYS
    cacheable = method in ("GET", "HEAD", "OPTIONS")
    limits = getattr(settings, "API_RATE_LIMITS", None) or DEFAULT_LIMITS
    average_limit, burst_limit = limits[(mode, cacheable)]
    kind = "cacheable" if cacheable else "uncacheable"
    average, burst = _hit(
        (f"{client_id}:{mode}:{kind}", average_limit, AVERAGE_INTERVAL),
        (f"{client_id}:{mode}:{kind}:{endpoint}", burst_limit, BURST_INTERVAL),
    )
    if not average.allowed:
        return average
    if not burst.allowed:
        return burst
    return burst if burst.remaining <= average.remaining else average


def check_token_endpoint(client_ip: str) -> Decision:
    if not settings.API_RATE_LIMITS_ENABLED:
        return ALWAYS
    limit, interval = getattr(settings, "API_TOKEN_RATE_LIMIT", None) or TOKEN_ENDPOINT_LIMIT
    return _hit((f"oauth-token:{client_ip}", limit, interval))[0]


def add_headers(response: HttpResponseBase, decision: Decision) -> None:
    if decision is ALWAYS or not decision.limit:
        return
    response["X-Ratelimit-Limit"] = str(decision.limit)
    response["X-Ratelimit-Interval"] = str(decision.interval)
    response["X-Ratelimit-Remaining"] = str(decision.remaining)
