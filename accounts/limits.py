"""Abuse limits on log-in, sign-up and password-reset attempts, counted in Redis.

Each limit is a counter per account (username or email, lowercased) and per client IP, living
for a fixed window that starts with the first counted attempt. Every check is one pipelined
round trip. When Redis cannot be reached the limiter fails closed: callers get
``LimiterUnavailable`` and must refuse the attempt, because letting guesses through unmetered
is exactly what the limit exists to prevent.

Log-in counts failures: a success clears the account's count, so a person who finally types
their password right is not locked out by their own typos. Sign-up and password reset count
every attempt.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import redis
from django.conf import settings
from django.http import HttpRequest

from instaclone.sharding.redis_client import redis_client

KEY_PREFIX = "abuse"


class LimitExceeded(Exception):
    """Too many attempts; the caller should answer 429 with ``Retry-After``."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many attempts, retry after {retry_after} s")
        self.retry_after = retry_after


class LimiterUnavailable(Exception):
    """Redis could not be asked; the caller must refuse the attempt (fail closed)."""


@dataclass(frozen=True, slots=True)
class _Counter:
    key: str
    limit: int
    window: int


def client_ip(request: HttpRequest) -> str:
    """Return the client's address: REMOTE_ADDR, or the hop our nginx saw when behind it."""
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    # Only our own nginx (ABUSE_TRUSTED_PROXIES) may tell us who the client is.
    if remote not in settings.ABUSE_TRUSTED_PROXIES:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    # nginx appends the address it saw ($proxy_add_x_forwarded_for); anything left of it was
    # written by the client and could be forged to dodge the per-IP limit.
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    return hops[-1] if hops else remote


def _ip_key(ip: str) -> str:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        # One IPv6 client usually owns a whole /64; counting single addresses would let it
        # rotate through 2**64 of them.
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _key(action: str, scope: str, value: str) -> str:
    # Hash so Redis holds no raw emails and key length stays bounded whatever was typed.
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"{KEY_PREFIX}:{action}:{scope}:{digest}"


def _login_counters(*, username: str, ip: str) -> list[_Counter]:
    window = settings.LOGIN_LIMIT_WINDOW
    return [
        _Counter(_key("login", "account", username), settings.LOGIN_LIMIT_PER_ACCOUNT, window),
        _Counter(_key("login", "ip", _ip_key(ip)), settings.LOGIN_LIMIT_PER_IP, window),
    ]


def _count(counters: Sequence[_Counter], peeks: Sequence[_Counter] = ()) -> list[tuple[int, int]]:
    """Add one to ``counters`` (starting windows) and read ``peeks``; return (count, ttl) each.

    One MULTI/EXEC round trip; a counter never written reads as 0.
    """
    try:
        pipe = redis_client().pipeline(transaction=True)
        for counter in counters:
            pipe.set(counter.key, 0, ex=counter.window, nx=True)
            pipe.incr(counter.key)
            pipe.ttl(counter.key)
        for counter in peeks:
            pipe.get(counter.key)
            pipe.ttl(counter.key)
        replies = pipe.execute()
    except redis.RedisError as exc:
        raise LimiterUnavailable(str(exc)) from exc
    counted = len(counters) * 3
    results = [(int(replies[i + 1]), int(replies[i + 2])) for i in range(0, counted, 3)]
    results += [
        (int(replies[i] or 0), int(replies[i + 1])) for i in range(counted, len(replies), 2)
    ]
    return results


def _refuse_over(checks: Sequence[tuple[_Counter, int, int]]) -> None:
    """Raise ``LimitExceeded`` for the longest wait among (counter, count, ttl) over limit."""
    waits = [
        # -1 (no expiry) or -2 (just expired) should not happen; then wait a whole window.
        ttl if ttl > 0 else counter.window
        for counter, count, ttl in checks
        if count > counter.limit
    ]
    if waits:
        raise LimitExceeded(max(waits))


def _count_and_check(counters: Sequence[_Counter]) -> None:
    """Count an attempt and raise ``LimitExceeded`` if it goes over any limit."""
    results = _count(counters)
    _refuse_over([(c, count, ttl) for c, (count, ttl) in zip(counters, results, strict=True)])


def check_login_allowed(*, username: str, ip: str) -> None:
    """Count a log-in attempt against the account; refuse it if the account or IP is over.

    Raises ``LimitExceeded`` (carrying ``retry_after`` seconds) or ``LimiterUnavailable``.
    The attempt counts against the account before the password is checked, so parallel
    guesses cannot all slip under the limit; ``clear_login_failures`` forgets it on success.
    Call ``record_login_failure`` after a wrong password, which counts it against the IP.
    """
    account, address = _login_counters(username=username, ip=ip)
    (account_count, account_ttl), (ip_failures, ip_ttl) = _count([account], peeks=[address])
    # The IP's count holds past failures only: this attempt would be failure number n + 1.
    _refuse_over([(account, account_count, account_ttl), (address, ip_failures + 1, ip_ttl)])


def record_login_failure(*, username: str, ip: str) -> None:
    """Count a failed log-in against the IP (the account's count already holds it)."""
    _, address = _login_counters(username=username, ip=ip)
    _count([address])


def clear_login_failures(*, username: str) -> None:
    """Forget the account's attempts after a successful log-in (the IP's count stays)."""
    try:
        redis_client().delete(_key("login", "account", username))
    except redis.RedisError as exc:
        raise LimiterUnavailable(str(exc)) from exc


def count_signup_attempt(*, ip: str) -> None:
    """Count a sign-up attempt from ``ip``; raise ``LimitExceeded`` over the limit."""
    _count_and_check(
        [
            _Counter(
                _key("signup", "ip", _ip_key(ip)),
                settings.SIGNUP_LIMIT_PER_IP,
                settings.SIGNUP_LIMIT_WINDOW,
            )
        ]
    )


def count_password_reset_attempt(*, email: str, ip: str) -> None:
    """Count a password-reset request for ``email`` from ``ip``; raise over either limit.

    Unknown addresses are counted exactly like known ones, so the limiter cannot be used to
    find out which addresses have accounts.
    """
    window = settings.PASSWORD_RESET_LIMIT_WINDOW
    counters = [
        _Counter(_key("reset", "ip", _ip_key(ip)), settings.PASSWORD_RESET_LIMIT_PER_IP, window)
    ]
    if email.strip():
        counters.append(
            _Counter(
                _key("reset", "account", email), settings.PASSWORD_RESET_LIMIT_PER_ACCOUNT, window
            )
        )
    _count_and_check(counters)


def count_email_change_attempt(*, user_id: int, ip: str) -> None:
    """Count a request to change an account's email; raise ``LimitExceeded`` over either limit.

    Every request counts, to a free address or a taken one alike, so the limit caps how many
    addresses one account or IP can probe and how much mail it can cause.
    """
    window = settings.EMAIL_CHANGE_LIMIT_WINDOW
    _count_and_check(
        [
            _Counter(
                _key("email", "account", str(user_id)),
                settings.EMAIL_CHANGE_LIMIT_PER_ACCOUNT,
                window,
            ),
            _Counter(_key("email", "ip", _ip_key(ip)), settings.EMAIL_CHANGE_LIMIT_PER_IP, window),
        ]
    )
