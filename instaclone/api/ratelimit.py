"""The API's hourly request limit, counted in Redis per access token or per client IP.

One pipelined INCR + EXPIRE per request on a key per identity and clock hour (a fixed window, as
v1's hourly limit was). When Redis cannot be asked the request is served uncounted: the limit
protects capacity, and refusing every read because the counter is down would cost more than a
few uncounted requests. (Log-in limits fail closed instead; see accounts/limits.py.)
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.http import HttpRequest

from instaclone.sharding.redis_client import redis_client

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 3600
KEY_PREFIX = "api:rate"
# Our nginx runs on the same host; only from it do we believe X-Forwarded-For.
TRUSTED_PROXIES = frozenset({"127.0.0.1"})
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


def client_ip(request: HttpRequest) -> str:
    """Return the client's address: REMOTE_ADDR, or the hop our nginx saw when behind it."""
    remote: str = request.META.get("REMOTE_ADDR", "") or "unknown"
    if remote not in TRUSTED_PROXIES:
        return remote
    # nginx appends the address it saw ($proxy_add_x_forwarded_for); anything left of it came
    # from the client and could be forged to dodge the limit.
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    return hops[-1] if hops else remote


def ip_identity(ip: str) -> str:
    """Return the rate identity of a client address (a whole /64 for IPv6)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return f"ip:{ip[:64]}"
    if address.version == 6:
        # One IPv6 client usually holds a whole /64 and could rotate through it.
        return f"ip:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    return f"ip:{address}"


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
