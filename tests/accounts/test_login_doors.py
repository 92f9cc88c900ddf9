"""The log-in limits, the same at every door: web log-in, /admin/login/ and the password grant.

Each test runs once per door, against real Redis, from addresses of its own.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from django.test import Client
from django.urls import reverse
from oauth2_provider.models import AccessToken, Application
from pytest_django.fixtures import Settings

from accounts.models import User
from instaclone.sharding.redis_client import redis_client
from tests.abuse_keys import abuse_keys_forgotten
from tests.instaclone.test_timeouts import _silent_server as silent_server

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

ALL = ["default", "shards_0", "shards_1"]
PASSWORD = "correct-horse-battery-42"
DOORS = ["web", "admin", "oauth"]
# What each door answers a correct and a wrong password with.
SUCCESS = {"web": 302, "admin": 302, "oauth": 200}
WRONG = {"web": 200, "admin": 200, "oauth": 400}
OAUTH_LIMITED = {
    "code": 429,
    "error_type": "OAuthRateLimitException",
    "error_message": "Too many failed log-in attempts. Try again later.",
}

pytestmark = pytest.mark.django_db(databases=ALL)


@pytest.fixture(autouse=True)
def _forget_counters() -> Iterator[None]:
    with abuse_keys_forgotten():
        yield


def _ip() -> str:
    # A fresh documentation-range address per call keeps tests' per-IP counters apart.
    return f"198.{random.randrange(18, 20)}.{random.randrange(256)}.{random.randrange(1, 255)}"


@pytest.fixture
def person() -> User:
    # Staff, so the admin log-in accepts the right password too.
    username = f"d_{uuid.uuid4().hex[:12]}"
    return User.objects.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD, is_staff=True
    )


@pytest.fixture
def mobile_app() -> tuple[str, str]:
    secret = secrets.token_urlsafe(32)
    app = Application.objects.create(
        name="first-party app",
        client_secret=secret,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_PASSWORD,
    )
    return app.client_id, secret


def _token_request(
    login: str, password: str, *, ip: str, client: tuple[str, str], **extra: str
) -> TestResponse:
    return Client(REMOTE_ADDR=ip, **extra).post(
        "/oauth/access_token",
        {
            "client_id": client[0],
            "client_secret": client[1],
            "grant_type": "password",
            "username": login,
            "password": password,
        },
    )


def _made_up_client() -> tuple[str, str]:
    return secrets.token_urlsafe(16), secrets.token_urlsafe(32)


def _log_in(door: str, login: str, password: str, *, ip: str, app: tuple[str, str]) -> TestResponse:
    if door == "web":
        return Client(REMOTE_ADDR=ip).post(
            reverse("accounts:login"), {"login": login, "password": password}
        )
    if door == "admin":
        return Client(REMOTE_ADDR=ip).post(
            reverse("admin:login"), {"username": login, "password": password}
        )
    return _token_request(login, password, ip=ip, client=app)


def _assert_logged_in(door: str, response: TestResponse) -> None:
    assert response.status_code == SUCCESS[door]
    if door == "oauth":
        assert set(response.json()) == {"access_token", "user"}
    else:
        assert response.wsgi_request.session.get("_auth_user_id") is not None


def _assert_limited(door: str, response: TestResponse, window: int) -> None:
    assert response.status_code == 429
    assert window - 10 <= int(response["Retry-After"]) <= window
    if door == "oauth":
        assert response.json() == OAUTH_LIMITED
    else:
        page = response.content.decode()
        assert "<h1>Too many attempts</h1>" in page
        minutes = -(-window // 60)
        assert f"Too many attempts. Please wait {minutes} minutes." in page


# --- the lock-out of issue 9: made-up client credentials --------------------------------------


@pytest.mark.parametrize("door", DOORS)
def test_made_up_client_credentials_never_lock_the_person_out(
    door: str, person: User, mobile_app: tuple[str, str]
) -> None:
    attacker = _ip()
    # Eleven and more: what locked the account for 15 minutes when the grant counted a failure
    # against the account before it checked the client.
    for attempt in range(12):
        response = _token_request(
            person.username, f"guess-{attempt}", ip=attacker, client=_made_up_client()
        )
        assert response.status_code == 400, attempt
        assert response.json()["error_message"] == "Invalid client_id or client_secret."
    _assert_logged_in(door, _log_in(door, person.username, PASSWORD, ip=_ip(), app=mobile_app))


@pytest.mark.parametrize("door", DOORS)
def test_refused_grants_count_against_the_ip(
    door: str, settings: Settings, person: User, mobile_app: tuple[str, str]
) -> None:
    settings.LOGIN_LIMIT_PER_IP = 5
    attacker = _ip()
    for _ in range(5):
        made_up = _token_request(_made_up_client()[0], "x", ip=attacker, client=_made_up_client())
        assert made_up.status_code == 400
    _assert_limited(
        door,
        _log_in(door, person.username, PASSWORD, ip=attacker, app=mobile_app),
        settings.LOGIN_LIMIT_WINDOW,
    )
    _assert_logged_in(door, _log_in(door, person.username, PASSWORD, ip=_ip(), app=mobile_app))


# --- per account and IP -------------------------------------------------------------------------


@pytest.mark.parametrize("door", DOORS)
def test_an_account_is_locked_per_ip_and_stays_open_to_other_ips(
    door: str, settings: Settings, person: User, mobile_app: tuple[str, str]
) -> None:
    guesser = _ip()
    for attempt in range(settings.LOGIN_LIMIT_PER_ACCOUNT_IP):
        response = _log_in(door, person.username, f"wrong-{attempt}", ip=guesser, app=mobile_app)
        assert response.status_code == WRONG[door], attempt
    # Even the right password, even by email, from the address that used up its attempts.
    refused = _log_in(door, person.email, PASSWORD, ip=guesser, app=mobile_app)
    _assert_limited(door, refused, settings.LOGIN_LIMIT_WINDOW)
    _assert_logged_in(door, _log_in(door, person.email, PASSWORD, ip=_ip(), app=mobile_app))


@pytest.mark.parametrize("door", DOORS)
def test_failures_from_other_ips_never_refuse_a_correct_password(
    door: str, settings: Settings, person: User, mobile_app: tuple[str, str]
) -> None:
    guessers = [_ip() for _ in range(3)]
    for guesser in guessers:
        for _ in range(settings.LOGIN_LIMIT_PER_ACCOUNT_IP + 2):
            _log_in(door, person.username, "wrong", ip=guesser, app=mobile_app)
    _assert_logged_in(door, _log_in(door, person.username, PASSWORD, ip=_ip(), app=mobile_app))


@pytest.mark.parametrize("door", DOORS)
def test_a_successful_log_in_forgets_that_ips_failures(
    door: str, settings: Settings, person: User, mobile_app: tuple[str, str]
) -> None:
    ip, limit = _ip(), settings.LOGIN_LIMIT_PER_ACCOUNT_IP
    for _ in range(limit - 1):
        assert (
            _log_in(door, person.username, "wrong", ip=ip, app=mobile_app).status_code
            == (WRONG[door])
        )
    _assert_logged_in(door, _log_in(door, person.username, PASSWORD, ip=ip, app=mobile_app))
    for _ in range(limit):
        assert (
            _log_in(door, person.username, "wrong", ip=ip, app=mobile_app).status_code
            == (WRONG[door])
        )
    refused = _log_in(door, person.username, PASSWORD, ip=ip, app=mobile_app)
    _assert_limited(door, refused, settings.LOGIN_LIMIT_WINDOW)


# --- per IP, across accounts --------------------------------------------------------------------


@pytest.mark.parametrize("door", DOORS)
def test_failures_across_accounts_lock_the_ip(
    door: str, settings: Settings, person: User, mobile_app: tuple[str, str]
) -> None:
    settings.LOGIN_LIMIT_PER_IP = 5
    sprayer = _ip()
    for attempt in range(5):
        # A different (unknown) account each time: the address's count is what stops this.
        response = _log_in(door, f"nobody_{uuid.uuid4().hex[:10]}", "x", ip=sprayer, app=mobile_app)
        assert response.status_code == WRONG[door], attempt
    refused = _log_in(door, person.username, PASSWORD, ip=sprayer, app=mobile_app)
    _assert_limited(door, refused, settings.LOGIN_LIMIT_WINDOW)
    _assert_logged_in(door, _log_in(door, person.username, PASSWORD, ip=_ip(), app=mobile_app))


# --- slow-down per account, across IPs ----------------------------------------------------------


@pytest.mark.parametrize("door", DOORS)
def test_an_account_under_attack_from_many_ips_allows_each_ip_fewer_attempts(
    door: str, settings: Settings, person: User, mobile_app: tuple[str, str]
) -> None:
    settings.LOGIN_SLOWDOWN_AFTER = 6
    settings.LOGIN_LIMIT_PER_ACCOUNT_IP_SLOWED = 2
    for guesser in [_ip() for _ in range(3)]:
        for _ in range(2):
            wrong = _log_in(door, person.username, "wrong", ip=guesser, app=mobile_app)
            assert wrong.status_code == WRONG[door]
    # Over the slow-down line: a new address gets two attempts on this account, not ten.
    late = _ip()
    for _ in range(2):
        assert (
            _log_in(door, person.username, "wrong", ip=late, app=mobile_app).status_code
            == (WRONG[door])
        )
    refused = _log_in(door, person.username, PASSWORD, ip=late, app=mobile_app)
    _assert_limited(door, refused, settings.LOGIN_LIMIT_WINDOW)
    # The person, from an address that has not failed on the account, still logs in.
    _assert_logged_in(door, _log_in(door, person.username, PASSWORD, ip=_ip(), app=mobile_app))


# --- the client IP behind our proxies -----------------------------------------------------------


@pytest.mark.parametrize("door", DOORS)
def test_forged_forwarded_hops_do_not_dodge_the_lock(
    door: str, settings: Settings, person: User, mobile_app: tuple[str, str]
) -> None:
    settings.ABUSE_TRUSTED_PROXIES = ["127.0.0.1", "172.28.0.0/24"]
    guesser = _ip()

    def via_proxy(password: str, forged: str) -> TestResponse:
        # The compose nginx (172.28.0.10) appends the address it saw after what the client sent.
        forwarded = f"{forged}, {guesser}"
        if door == "oauth":
            return _token_request(
                person.username,
                password,
                ip="172.28.0.10",
                client=mobile_app,
                HTTP_X_FORWARDED_FOR=forwarded,
            )
        client = Client(REMOTE_ADDR="172.28.0.10", HTTP_X_FORWARDED_FOR=forwarded)
        if door == "web":
            return client.post(
                reverse("accounts:login"), {"login": person.username, "password": password}
            )
        return client.post(
            reverse("admin:login"), {"username": person.username, "password": password}
        )

    for _ in range(settings.LOGIN_LIMIT_PER_ACCOUNT_IP):
        assert via_proxy("wrong", forged=_ip()).status_code == WRONG[door]
    _assert_limited(door, via_proxy(PASSWORD, forged=_ip()), settings.LOGIN_LIMIT_WINDOW)


# --- the token endpoint -------------------------------------------------------------------------


def test_the_token_endpoint_is_limited_per_ip(
    settings: Settings, person: User, mobile_app: tuple[str, str]
) -> None:
    settings.TOKEN_LIMIT_PER_IP = 4
    ip = _ip()
    for _ in range(4):
        assert (
            _token_request(person.username, PASSWORD, ip=ip, client=mobile_app).status_code == 200
        )
    refused = _token_request(person.username, PASSWORD, ip=ip, client=mobile_app)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= settings.TOKEN_LIMIT_WINDOW
    assert refused.json() == {
        "code": 429,
        "error_type": "OAuthRateLimitException",
        "error_message": "Too many token requests. Try again later.",
    }
    assert _token_request(person.username, PASSWORD, ip=_ip(), client=mobile_app).status_code == 200


def test_the_token_endpoint_limit_counts_every_request(settings: Settings) -> None:
    settings.TOKEN_LIMIT_PER_IP = 3
    client = Client(REMOTE_ADDR=_ip())
    # Malformed, unsupported or empty: each request counts, whatever it carries.
    assert client.post("/oauth/access_token", {}).status_code == 400
    assert client.post("/oauth/access_token", {"grant_type": "implicit"}).status_code == 400
    assert client.post("/oauth/access_token", {"grant_type": "password"}).status_code == 400
    assert client.post("/oauth/access_token", {}).status_code == 429


def test_guessing_a_client_secret_through_revoke_is_limited(
    settings: Settings, mobile_app: tuple[str, str]
) -> None:
    settings.TOKEN_LIMIT_PER_IP = 3
    client_id, _ = mobile_app
    client = Client(REMOTE_ADDR=_ip())
    guesses = [
        client.post(
            "/oauth/revoke",
            {"token": "x" * 30, "client_id": client_id, "client_secret": f"guess-{n}"},
        )
        for n in range(4)
    ]
    assert [answer.status_code for answer in guesses] == [400, 400, 400, 429]
    assert guesses[0].json()["error_message"] == "Invalid client_id or client_secret."
    assert guesses[3].json() == {
        "code": 429,
        "error_type": "OAuthRateLimitException",
        "error_message": "Too many token requests. Try again later.",
    }


# --- the limiter down ---------------------------------------------------------------------------


@pytest.fixture(params=["stopped", "silent"])
def redis_down(request: pytest.FixtureRequest, settings: Settings) -> Iterator[None]:
    """Point the project at a port nothing listens on, or at one that accepts and never answers."""
    with contextlib.ExitStack() as stack:
        port = 1 if request.param == "stopped" else stack.enter_context(silent_server())
        settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
        redis_client.cache_clear()
        yield
        redis_client.cache_clear()


@pytest.mark.parametrize("door", DOORS)
def test_log_in_fails_closed_while_the_limiter_is_down(
    door: str, person: User, mobile_app: tuple[str, str], redis_down: None
) -> None:
    response = _log_in(door, person.username, PASSWORD, ip=_ip(), app=mobile_app)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    if door == "oauth":
        assert response.json() == {
            "code": 503,
            "error_type": "OAuthException",
            "error_message": "Log-in is unavailable right now. Try again in a minute.",
        }
        assert not AccessToken.objects.filter(user=person).exists()
    else:
        page = response.content.decode()
        assert "<h1>Temporarily unavailable</h1>" in page
        assert "Logging in is unavailable right now. Please try again in a minute." in page
        assert response.wsgi_request.session.get("_auth_user_id") is None
