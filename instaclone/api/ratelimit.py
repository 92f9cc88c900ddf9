"""The API's hourly request limit, counted in Redis per access token or per client IP.

One pipelined INCR + EXPIRE per request on a key per identity and clock hour (a fixed window, as
v1's hourly limit was). When Redis cannot be asked the request is served uncounted: the limit
protects capacity, and refusing every read because the counter is down would cost more than a
few uncounted requests. (Log-in limits fail closed instead; see accounts/limits.py.)
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import redis
from django.conf import settings

from instaclone.clientip import address_group
from instaclone.sharding.redis_client import redis_client

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 3600
KEY_PREFIX = "api:rate"
# After Redis fails, skip counting for this long instead of paying its timeouts on every request.
PAUSE_AFTER_ERROR_SECONDS = 10.0

_pause_lock = threading.Lock()
_paused_until = 0.0


@dataclass(frozen=True)
class RateState:
    """Where an identity stands in the current window."""

    limit: int
    count: int
    retry_after: int

    @property
    def remaining(self) -> int:
        """Return how many requests are left in this window."""
        return max(0, self.limit - self.count)

    @property
    def exceeded(self) -> bool:
        """Return whether this request went over the limit."""
        return self.count > self.limit


def ip_identity(ip: str) -> str:
    """Return the rate identity of a client address (a whole /64 for IPv6)."""
    return f"ip:{address_group(ip)}"


def rate_count(identity: str, *, now: float | None = None) -> RateState | None:
    """Count one request for ``identity``; return its state, or None when Redis is unavailable."""
    global _paused_until
    now = time.time() if now is None else now
    if now < _paused_until:
        return None
    window = int(now // WINDOW_SECONDS)
    retry_after = WINDOW_SECONDS - int(now % WINDOW_SECONDS)
    key = f"{KEY_PREFIX}:{identity}:{window}"
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.incr(key)
        # The key dies with its window; a second of slack covers clock skew between workers.
        pipe.expire(key, retry_after + 1)
        count, _ = pipe.execute()
    except redis.RedisError as exc:  # any failure, not only REDIS_ERRORS: reads must go on
        with _pause_lock:
            _paused_until = now + PAUSE_AFTER_ERROR_SECONDS
        logger.warning("API rate counting paused for %ss: %s", PAUSE_AFTER_ERROR_SECONDS, exc)
        return None
    return RateState(
        limit=settings.API_RATE_LIMIT_PER_HOUR, count=int(count), retry_after=retry_after
    )


def rate_counting_resume() -> None:
    """Count again from the next request (after Redis is back, or between tests)."""
    global _paused_until
    with _pause_lock:
        _paused_until = 0.0
