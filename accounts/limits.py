"""Abuse limits on log-in, token, sign-up and password-reset attempts, counted in Redis.

Each limit is a counter living for a fixed window that starts with the first counted attempt;
every check is one pipelined round trip. When Redis cannot be reached the limiter fails closed:
callers get ``LimiterUnavailable`` and must refuse the attempt (503 with ``Retry-After``),
because letting guesses through unmetered is exactly what the limit exists to prevent.

Log-in rules, the same at every door (web, /admin/login/, the OAuth password grant, anything
that calls ``authenticate()``), because they are applied inside the authentication backend
(accounts/backends.py):

- **Per account and IP**: ``LOGIN_LIMIT_PER_ACCOUNT_IP`` attempts on one account from one
  client IP per ``LOGIN_LIMIT_WINDOW``, counted before the password is checked (so parallel
  guesses cannot slip under it) and forgotten when that IP logs in. Failures from other IPs never
  refuse a correct password: locking the account itself would let anyone lock anyone out.
- **Per IP**: ``LOGIN_LIMIT_PER_IP`` failures per window from one client IP, whatever the
  account, counting wrong passwords and every refused token request (bad client, bad code,
  malformed). Over it, every log-in from that IP is refused.
- **Slow-down per account**: once one account has had ``LOGIN_SLOWDOWN_AFTER`` attempts in the
  window from all IPs together, each IP gets ``LOGIN_LIMIT_PER_ACCOUNT_IP_SLOWED`` attempts on it
  instead of the usual allowance, cutting a distributed guesser's rate while a person on an IP
  that has not failed on the account still logs in. Chosen over delaying failed answers: a
  Gunicorn sync worker sleeping on a delay serves nobody, and with a couple of workers per host
  the guesser would hold them all with a few parallel requests.
- **Token endpoint**: ``TOKEN_LIMIT_PER_IP`` requests per ``TOKEN_LIMIT_WINDOW`` to
  ``POST /oauth/access_token`` from one IP, whatever they carry. The client is authenticated
  before the person (oauthlib does so before it calls ``authenticate()``), so a made-up
  client_id or client_secret counts against the IP only, never against the account.

Sign-up counts every attempt per IP; password reset every attempt per IP and per address
(known or not).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import redis
from django.conf import settings

from instaclone.clientip import address_group
from instaclone.sharding.redis_client import redis_client

KEY_PREFIX = "abuse"
# The field of an account's log-in hash counting attempts from every IP (others are IP digests).
ALL_IPS = "all"
# Why a limit refused: failed attempts (log-in, sign-up, reset) or plain request volume.
TOO_MANY_ATTEMPTS = "attempts"
TOO_MANY_REQUESTS = "requests"


class LimitExceeded(Exception):
    """Too many attempts (or requests); the caller should answer 429 with ``Retry-After``."""

    def __init__(self, retry_after: int, *, reason: str = TOO_MANY_ATTEMPTS) -> None:
        super().__init__(f"too many {reason}, retry after {retry_after} s")
        self.retry_after = retry_after
        self.reason = reason


class LimiterUnavailable(Exception):
    """Redis could not be asked; the caller must refuse the attempt (fail closed)."""


@dataclass(frozen=True, slots=True)
class _Counter:
    key: str
    limit: int
    window: int


def _digest(value: str) -> str:
    # Hash so Redis holds no raw emails and key length stays bounded whatever was typed.
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]


def _key(action: str, scope: str, value: str) -> str:
    return f"{KEY_PREFIX}:{action}:{scope}:{_digest(value)}"


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


def _refuse_over(
    checks: Sequence[tuple[_Counter, int, int]], *, reason: str = TOO_MANY_ATTEMPTS
) -> None:
    """Raise ``LimitExceeded`` for the longest wait among (counter, count, ttl) over limit."""
    waits = [
        # -1 (no expiry) or -2 (just expired) should not happen; then wait a whole window.
        ttl if ttl > 0 else counter.window
        for counter, count, ttl in checks
        if count > counter.limit
    ]
    if waits:
        raise LimitExceeded(max(waits), reason=reason)


def _count_and_check(counters: Sequence[_Counter]) -> None:
    """Count an attempt and raise ``LimitExceeded`` if it goes over any limit."""
    results = _count(counters)
    _refuse_over([(c, count, ttl) for c, (count, ttl) in zip(counters, results, strict=True)])


def _login_ip(ip: str) -> _Counter:
    return _Counter(
        _key("login", "ip", address_group(ip)),
        settings.LOGIN_LIMIT_PER_IP,
        settings.LOGIN_LIMIT_WINDOW,
    )


def _account_key(username: str) -> str:
    # One hash per account: a field per client IP, and ALL_IPS for every attempt on it. They
    # share one window, and a password reset forgets them all with one DEL.
    return _key("login", "account", username)


def _ip_field(ip: str) -> str:
    return _digest(address_group(ip))


def check_login_allowed(*, username: str, ip: str) -> None:
    """Count a log-in attempt on ``username`` from ``ip``; refuse it over any log-in limit.

    Raises ``LimitExceeded`` (carrying ``retry_after`` seconds) or ``LimiterUnavailable``.
    The attempt counts before the password is checked, so parallel guesses cannot all slip
    under the limit; ``clear_login_failures`` forgets it on success. Call
    ``record_login_failure`` after a wrong password, which counts it against the IP.
    """
    window = settings.LOGIN_LIMIT_WINDOW
    account, address = _account_key(username), _login_ip(ip)
    try:
        pipe = redis_client().pipeline(transaction=True)
        pipe.hincrby(account, _ip_field(ip), 1)
        pipe.hincrby(account, ALL_IPS, 1)
        pipe.expire(account, window, nx=True)
        pipe.ttl(account)
        pipe.get(address.key)
        pipe.ttl(address.key)
        from_ip, from_all, _, account_ttl, ip_failures, ip_ttl = pipe.execute()
    except redis.RedisError as exc:
        raise LimiterUnavailable(str(exc)) from exc
    slowed = int(from_all) > settings.LOGIN_SLOWDOWN_AFTER
    allowance = (
        settings.LOGIN_LIMIT_PER_ACCOUNT_IP_SLOWED
        if slowed
        else settings.LOGIN_LIMIT_PER_ACCOUNT_IP
    )
    # The IP's count holds past failures only: this attempt would be failure number n + 1.
    _refuse_over(
        [
            (_Counter(account, allowance, window), int(from_ip), int(account_ttl)),
            (address, int(ip_failures or 0) + 1, int(ip_ttl)),
        ]
    )


def record_login_failure(*, ip: str) -> None:
    """Count a failed log-in or a refused token request against the client IP."""
    _count([_login_ip(ip)])


def clear_login_failures(*, username: str, ip: str | None = None) -> None:
    """Forget ``ip``'s attempts on the account after it logged in; without ``ip``, all of them.

    The IP's own failure count stays; without ``ip`` (a password reset proved the owner) the
    account's slow-down count goes too.
    """
    try:
        if ip is None:
            redis_client().delete(_account_key(username))
        else:
            redis_client().hdel(_account_key(username), _ip_field(ip))
    except redis.RedisError as exc:
        raise LimiterUnavailable(str(exc)) from exc


def check_token_request_allowed(*, ip: str) -> None:
    """Count a request to the token endpoint from ``ip``; refuse it over the endpoint's limit.

    Also refuses an IP over its log-in failure limit, before any client or password is checked.
    Raises ``LimitExceeded`` or ``LimiterUnavailable``.
    """
    requests = _Counter(
        _key("token", "ip", address_group(ip)),
        settings.TOKEN_LIMIT_PER_IP,
        settings.TOKEN_LIMIT_WINDOW,
    )
    address = _login_ip(ip)
    (count, ttl), (failures, failures_ttl) = _count([requests], peeks=[address])
    _refuse_over([(address, failures + 1, failures_ttl)])
    _refuse_over([(requests, count, ttl)], reason=TOO_MANY_REQUESTS)


def count_signup_attempt(*, ip: str) -> None:
    """Count a sign-up attempt from ``ip``; raise ``LimitExceeded`` over the limit."""
    _count_and_check(
        [
            _Counter(
                _key("signup", "ip", address_group(ip)),
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
        _Counter(
            _key("reset", "ip", address_group(ip)), settings.PASSWORD_RESET_LIMIT_PER_IP, window
        )
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
            _Counter(
                _key("email", "ip", address_group(ip)), settings.EMAIL_CHANGE_LIMIT_PER_IP, window
            ),
        ]
    )
