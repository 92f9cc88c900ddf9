"""Abuse limits: log-in, sign-up and reset attempts per account and per IP, in real Redis."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
import redis
from django.core import mail
from django.test import Client, RequestFactory
from django.urls import reverse
from pytest_django.fixtures import Settings

from accounts.limits import (
    LimiterUnavailable,
    LimitExceeded,
    check_login_allowed,
    clear_login_failures,
    client_ip,
    count_password_reset_attempt,
    count_signup_attempt,
    record_login_failure,
)
from accounts.models import User
from accounts.services.users import user_create
from instaclone.sharding.redis_client import redis_client

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


def _login(login: str, password: str, *, ip: str) -> TestResponse:
    return Client(REMOTE_ADDR=ip).post(
        reverse("accounts:login"), {"login": login, "password": password}
    )


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


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("203.0.113.9", "", "203.0.113.9"),
        ("203.0.113.9", "1.2.3.4", "203.0.113.9"),  # only our nginx is believed
        ("127.0.0.1", "", "127.0.0.1"),
        ("127.0.0.1", "198.51.100.7", "198.51.100.7"),
        ("127.0.0.1", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # the left part is the client's
        ("127.0.0.1", " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_client_ip_believes_only_the_hop_our_nginx_added(
    remote: str, forwarded: str, expected: str
) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_client_ip_believes_the_configured_proxies_only(settings: Settings) -> None:
    settings.ABUSE_TRUSTED_PROXIES = ["172.18.0.5"]
    behind = RequestFactory().get(
        "/", REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7"
    )
    loopback = RequestFactory().get(
        "/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7"
    )
    assert (client_ip(behind), client_ip(loopback)) == ("198.51.100.7", "127.0.0.1")


def test_ipv6_clients_are_counted_per_64_network(settings: Settings) -> None:
    settings.SIGNUP_LIMIT_PER_IP = 2
    prefix = f"2001:db8:{random.randrange(65536):x}:{random.randrange(65536):x}"
    count_signup_attempt(ip=f"{prefix}::1")
    count_signup_attempt(ip=f"{prefix}::2")
    with pytest.raises(LimitExceeded):
        count_signup_attempt(ip=f"{prefix}:ffff:ffff:ffff:ffff")


# --- the limiter's functions ----------------------------------------------------------------


def test_login_limiter_counts_failures_per_account_and_clears_on_success(
    settings: Settings,
) -> None:
    username = _name()
    for attempt in range(settings.LOGIN_LIMIT_PER_ACCOUNT):
        # Any case is one account; a new address each time keeps the IP count out of it.
        spelled = username.upper() if attempt % 2 else username
        check_login_allowed(username=spelled, ip=_ip())
        record_login_failure(username=spelled, ip=_ip())
    with pytest.raises(LimitExceeded) as caught:
        check_login_allowed(username=username, ip=_ip())
    window = settings.LOGIN_LIMIT_WINDOW
    assert window - 10 <= caught.value.retry_after <= window
    clear_login_failures(username=username.upper())
    check_login_allowed(username=username, ip=_ip())


def test_login_limiter_counts_failures_per_ip_whatever_the_account(settings: Settings) -> None:
    ip = _ip()
    for _ in range(settings.LOGIN_LIMIT_PER_IP):
        account = _name()
        check_login_allowed(username=account, ip=ip)
        record_login_failure(username=account, ip=ip)
    with pytest.raises(LimitExceeded):
        check_login_allowed(username=_name(), ip=ip)
    # Successes do not use up the address's allowance, failures alone do.
    other = _ip()
    for _ in range(settings.LOGIN_LIMIT_PER_IP + 5):
        account = _name()
        check_login_allowed(username=account, ip=other)
        clear_login_failures(username=account)


def test_parallel_guesses_at_one_account_stop_at_the_limit(settings: Settings) -> None:
    username, guesses = _name(), 40
    barrier = threading.Barrier(guesses)
    allowed: list[bool] = []
    lock = threading.Lock()

    def guess() -> None:
        barrier.wait(timeout=10)
        try:
            check_login_allowed(username=username, ip=_ip())
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
    assert allowed.count(True) == settings.LOGIN_LIMIT_PER_ACCOUNT


def test_limiter_functions_fail_closed_without_redis(redis_down: None) -> None:
    calls: list[Callable[[], None]] = [
        lambda: check_login_allowed(username="someone", ip="192.0.2.1"),
        lambda: record_login_failure(username="someone", ip="192.0.2.1"),
        lambda: clear_login_failures(username="someone"),
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
        lambda: record_login_failure(username=username, ip=ip),
        lambda: count_signup_attempt(ip=ip),
        lambda: count_password_reset_attempt(email=f"{username}@example.com", ip=ip),
    ]
    for call in calls:
        sends.clear()
        call()
        assert len(sends) == 1


# --- log-in through the web page ------------------------------------------------------------


@pytest.mark.django_db(databases=ALL)
def test_log_in_is_refused_after_too_many_failures_for_one_account(settings: Settings) -> None:
    user = _user()
    for attempt in range(settings.LOGIN_LIMIT_PER_ACCOUNT):
        # From a new address each time: the account's own count is what stops this.
        response = _login(user.username, f"wrong-{attempt}", ip=_ip())
        assert response.status_code == 200, attempt
    refused = _login(user.email, PASSWORD, ip=_ip())  # even the right password, even by email
    _assert_limited(refused, settings.LOGIN_LIMIT_WINDOW)
    assert "Too many attempts. Please wait 15 minutes." in refused.content.decode()
    other = _user()
    assert _login(other.username, PASSWORD, ip=_ip()).status_code == 302


@pytest.mark.django_db(databases=ALL)
def test_log_in_is_refused_after_too_many_failures_from_one_ip(settings: Settings) -> None:
    ip = _ip()
    for attempt in range(settings.LOGIN_LIMIT_PER_IP):
        # A different account each time: the address's count is what stops this.
        assert _login(_name(), "wrong", ip=ip).status_code == 200, attempt
    user = _user()
    _assert_limited(_login(user.username, PASSWORD, ip=ip), settings.LOGIN_LIMIT_WINDOW)
    assert _login(user.username, PASSWORD, ip=_ip()).status_code == 302


@pytest.mark.django_db(databases=ALL)
def test_log_in_behind_nginx_is_counted_per_forwarded_address(settings: Settings) -> None:
    settings.LOGIN_LIMIT_PER_IP = 3
    behind, other = _ip(), _ip()

    def via_nginx(client_address: str) -> int:
        client = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"10.0.0.1, {client_address}")
        return client.post(
            reverse("accounts:login"), {"login": _name(), "password": "x"}
        ).status_code

    assert [via_nginx(behind) for _ in range(3)] == [200, 200, 200]
    assert via_nginx(behind) == 429
    assert via_nginx(other) == 200


@pytest.mark.django_db(databases=ALL)
def test_a_successful_log_in_resets_the_accounts_failures(settings: Settings) -> None:
    user = _user()
    limit = settings.LOGIN_LIMIT_PER_ACCOUNT
    for _ in range(limit - 1):
        assert _login(user.username, "wrong", ip=_ip()).status_code == 200
    assert _login(user.username, PASSWORD, ip=_ip()).status_code == 302
    for _ in range(limit):
        assert _login(user.username, "wrong", ip=_ip()).status_code == 200
    assert _login(user.username, PASSWORD, ip=_ip()).status_code == 429


@pytest.mark.django_db(databases=ALL)
def test_log_in_is_refused_while_redis_is_unreachable(redis_down: None) -> None:
    user = _user()
    client = Client(REMOTE_ADDR=_ip())
    started = time.monotonic()
    response = client.post(
        reverse("accounts:login"), {"login": user.username, "password": PASSWORD}
    )
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert (
        "Logging in is unavailable right now. Please try again in a minute."
        in response.content.decode()
    )
    assert client.session.get("_auth_user_id") is None


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
