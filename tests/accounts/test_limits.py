"""Abuse limits: the limiter's functions, and sign-up and reset attempts, in real Redis.

The log-in rules as each door applies them are in test_login_doors.py.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
import redis
from django.core import mail
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from accounts.limits import (
    LimiterUnavailable,
    LimitExceeded,
    check_login_allowed,
    check_token_request_allowed,
    clear_login_failures,
    count_password_reset_attempt,
    count_signup_attempt,
    record_login_failure,
)
from accounts.models import User
from accounts.services.users import user_create
from instaclone.sharding.redis_client import redis_client
from tests.abuse_keys import abuse_keys_forgotten

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

ALL = ["default", "shards_0", "shards_1"]
PASSWORD = "correct-horse-battery-42"
CLOSED_PORT_URL = "redis://127.0.0.1:1/0"


def _name(prefix: str = "l") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def _ip() -> str:
    # A fresh documentation-range address per call keeps tests' per-IP counters apart.
    return f"198.{random.randrange(18, 20)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def _user() -> User:
    username = _name()
    return user_create(username=username, email=f"{username}@example.com", password=PASSWORD)


@pytest.fixture(autouse=True)
def _forget_counters() -> Iterator[None]:
    with abuse_keys_forgotten():
        yield


@pytest.fixture
def redis_down(settings: Settings) -> Iterator[None]:
    """Point the project at a port nothing listens on, as if Redis had stopped."""
    settings.REDIS_URL = CLOSED_PORT_URL
    redis_client.cache_clear()
    yield
    redis_client.cache_clear()


@pytest.fixture
def no_padding(settings: Settings) -> None:
    """Drop the reset page's timing floor so many attempts run fast."""
    settings.PASSWORD_RESET_MIN_SECONDS = 0


def _assert_limited(response: TestResponse, settings_window: int) -> None:
    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    assert settings_window - 10 <= retry_after <= settings_window
    assert "<h1>Too many attempts</h1>" in response.content.decode()


# --- client address -------------------------------------------------------------------------


def test_ipv6_clients_are_counted_per_64_network(settings: Settings) -> None:
    settings.SIGNUP_LIMIT_PER_IP = 2
    prefix = f"2001:db8:{random.randrange(65536):x}:{random.randrange(65536):x}"
    count_signup_attempt(ip=f"{prefix}::1")
    count_signup_attempt(ip=f"{prefix}::2")
    with pytest.raises(LimitExceeded):
        count_signup_attempt(ip=f"{prefix}:ffff:ffff:ffff:ffff")


# --- the limiter's functions ----------------------------------------------------------------


def test_login_limiter_counts_attempts_per_account_and_ip_and_clears_on_success(
    settings: Settings,
) -> None:
    username, ip, other = _name(), _ip(), _ip()
    for attempt in range(settings.LOGIN_LIMIT_PER_ACCOUNT_IP):
        # Any case is one account.
        check_login_allowed(username=username.upper() if attempt % 2 else username, ip=ip)
    with pytest.raises(LimitExceeded) as caught:
        check_login_allowed(username=username, ip=ip)
    window = settings.LOGIN_LIMIT_WINDOW
    assert window - 10 <= caught.value.retry_after <= window
    assert caught.value.reason == "attempts"
    # Another address has its own allowance on the same account.
    check_login_allowed(username=username, ip=other)
    clear_login_failures(username=username.upper(), ip=ip)
    check_login_allowed(username=username, ip=ip)


def test_a_password_reset_forgets_the_account_on_every_ip(settings: Settings) -> None:
    username, ips = _name(), [_ip(), _ip()]
    for ip in ips:
        for _ in range(settings.LOGIN_LIMIT_PER_ACCOUNT_IP):
            check_login_allowed(username=username, ip=ip)
        with pytest.raises(LimitExceeded):
            check_login_allowed(username=username, ip=ip)
    clear_login_failures(username=username)
    for ip in ips:
        check_login_allowed(username=username, ip=ip)


def test_login_limiter_counts_failures_per_ip_whatever_the_account(settings: Settings) -> None:
    ip = _ip()
    for _ in range(settings.LOGIN_LIMIT_PER_IP):
        account = _name()
        check_login_allowed(username=account, ip=ip)
        record_login_failure(ip=ip)
    with pytest.raises(LimitExceeded):
        check_login_allowed(username=_name(), ip=ip)
    with pytest.raises(LimitExceeded) as caught:
        check_token_request_allowed(ip=ip)
    assert caught.value.reason == "attempts"
    # Successes do not use up the address's allowance, failures alone do.
    other = _ip()
    for _ in range(settings.LOGIN_LIMIT_PER_IP + 5):
        account = _name()
        check_login_allowed(username=account, ip=other)
        clear_login_failures(username=account, ip=other)


def test_token_requests_are_counted_per_ip(settings: Settings) -> None:
    settings.TOKEN_LIMIT_PER_IP = 3
    ip = _ip()
    for _ in range(3):
        check_token_request_allowed(ip=ip)
    with pytest.raises(LimitExceeded) as caught:
        check_token_request_allowed(ip=ip)
    assert caught.value.reason == "requests"
    assert 0 < caught.value.retry_after <= settings.TOKEN_LIMIT_WINDOW
    check_token_request_allowed(ip=_ip())


def test_parallel_guesses_at_one_account_from_one_ip_stop_at_the_limit(
    settings: Settings,
) -> None:
    username, ip, guesses = _name(), _ip(), 40
    barrier = threading.Barrier(guesses)
    allowed: list[bool] = []
    lock = threading.Lock()

    def guess() -> None:
        barrier.wait(timeout=10)
        try:
            check_login_allowed(username=username, ip=ip)
            outcome = True
        except LimitExceeded:
            outcome = False
        with lock:
            allowed.append(outcome)

    threads = [threading.Thread(target=guess) for _ in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # Each attempt counts before its password is checked, so none slips in while others run.
    assert len(allowed) == guesses
    assert allowed.count(True) == settings.LOGIN_LIMIT_PER_ACCOUNT_IP


def test_limiter_functions_fail_closed_without_redis(redis_down: None) -> None:
    calls: list[Callable[[], None]] = [
        lambda: check_login_allowed(username="someone", ip="192.0.2.1"),
        lambda: record_login_failure(ip="192.0.2.1"),
        lambda: clear_login_failures(username="someone", ip="192.0.2.1"),
        lambda: clear_login_failures(username="someone"),
        lambda: check_token_request_allowed(ip="192.0.2.1"),
        lambda: count_signup_attempt(ip="192.0.2.1"),
        lambda: count_password_reset_attempt(email="a@example.com", ip="192.0.2.1"),
    ]
    for call in calls:
        with pytest.raises(LimiterUnavailable):
            call()


def test_each_limiter_call_is_one_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    redis_client().ping()  # connect first, so no connection set-up or health check is counted
    sends: list[int] = []
    original: Callable[..., None] = redis.connection.Connection.send_packed_command

    def counting(
        self: redis.connection.Connection, command: object, check_health: bool = True
    ) -> None:
        sends.append(1)
        original(self, command, check_health)

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", counting)
    username, ip = _name(), _ip()
    calls: list[Callable[[], None]] = [
        lambda: check_login_allowed(username=username, ip=ip),
        lambda: record_login_failure(ip=ip),
        lambda: clear_login_failures(username=username, ip=ip),
        lambda: check_token_request_allowed(ip=ip),
        lambda: count_signup_attempt(ip=ip),
        lambda: count_password_reset_attempt(email=f"{username}@example.com", ip=ip),
    ]
    for call in calls:
        sends.clear()
        call()
        assert len(sends) == 1


# --- sign-up and password reset -------------------------------------------------------------


@pytest.mark.django_db(databases=ALL)
def test_sign_up_attempts_are_limited_per_ip(settings: Settings) -> None:
    ip = _ip()
    for attempt in range(settings.SIGNUP_LIMIT_PER_IP):
        username = _name()
        response = Client(REMOTE_ADDR=ip).post(
            reverse("accounts:signup"),
            {"email": f"{username}@example.com", "username": username, "password": PASSWORD},
        )
        assert response.status_code == 302, attempt
    username = _name()
    data = {"email": f"{username}@example.com", "username": username, "password": PASSWORD}
    _assert_limited(
        Client(REMOTE_ADDR=ip).post(reverse("accounts:signup"), data), settings.SIGNUP_LIMIT_WINDOW
    )
    assert not User.objects.filter(username=username).exists()
    assert Client(REMOTE_ADDR=_ip()).post(reverse("accounts:signup"), data).status_code == 302


@pytest.mark.django_db(databases=ALL)
def test_sign_up_and_reset_are_refused_while_redis_is_unreachable(
    redis_down: None, no_padding: None
) -> None:
    username = _name()
    signup = Client(REMOTE_ADDR=_ip()).post(
        reverse("accounts:signup"),
        {"email": f"{username}@example.com", "username": username, "password": PASSWORD},
    )
    assert (signup.status_code, signup["Retry-After"]) == (503, "30")
    assert "Signing up is unavailable right now." in signup.content.decode()
    assert not User.objects.filter(username=username).exists()
    user = _user()
    reset = Client(REMOTE_ADDR=_ip()).post(
        reverse("accounts:password_reset"), {"email": user.email}
    )
    assert (reset.status_code, reset["Retry-After"]) == (503, "30")
    assert "Password reset is unavailable right now." in reset.content.decode()
    assert mail.outbox == []


def _reset(email: str, *, ip: str) -> TestResponse:
    return Client(REMOTE_ADDR=ip).post(reverse("accounts:password_reset"), {"email": email})


@pytest.mark.django_db(databases=ALL)
def test_reset_requests_are_limited_per_account_whether_or_not_it_exists(
    settings: Settings, no_padding: None
) -> None:
    window = settings.PASSWORD_RESET_LIMIT_WINDOW
    user = _user()
    unknown = f"{_name()}@example.com"
    for email in (user.email, unknown):
        for _ in range(settings.PASSWORD_RESET_LIMIT_PER_ACCOUNT):
            assert _reset(email.upper(), ip=_ip()).status_code == 302
        _assert_limited(_reset(email, ip=_ip()), window)
    assert len(mail.outbox) == settings.PASSWORD_RESET_LIMIT_PER_ACCOUNT


@pytest.mark.django_db(databases=ALL)
def test_reset_requests_are_limited_per_ip(settings: Settings, no_padding: None) -> None:
    ip = _ip()
    for _ in range(settings.PASSWORD_RESET_LIMIT_PER_IP):
        assert _reset(f"{_name()}@example.com", ip=ip).status_code == 302
    _assert_limited(_reset(f"{_name()}@example.com", ip=ip), settings.PASSWORD_RESET_LIMIT_WINDOW)
    assert _reset(f"{_name()}@example.com", ip=_ip()).status_code == 302
