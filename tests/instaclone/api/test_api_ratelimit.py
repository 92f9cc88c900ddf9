"""The hourly limit: X-Ratelimit-* on every /v1/ answer, 429 over it, open when Redis is down."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import pytest
from django.test import Client, override_settings
from oauth2_provider.models import AccessToken

from accounts.models import User
from instaclone.api.ratelimit import WINDOW_SECONDS, rate_count
from instaclone.sharding.redis_client import redis_client

DATABASES = ["default", "shards_0", "shards_1"]
pytestmark = [pytest.mark.django_db(databases=DATABASES), pytest.mark.urls("v1_test_site")]


def _remaining(client: Client, path: str = "/v1/things/1", **extra: str) -> tuple[int, str, str]:
    response = client.get(path, **extra)  # type: ignore[arg-type]
    return response.status_code, response["X-Ratelimit-Limit"], response["X-Ratelimit-Remaining"]


@pytest.fixture
def redis_down(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Point the Redis client at a port nobody listens on."""
    redis_client.cache_clear()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    yield
    redis_client.cache_clear()


@override_settings(API_RATE_LIMIT_PER_HOUR=100)
def test_headers_count_down_per_request(client: Client) -> None:
    assert _remaining(client) == (200, "100", "99")
    assert _remaining(client) == (200, "100", "98")
    assert _remaining(client, "/v1/things/2.json") == (200, "100", "97")


@override_settings(API_RATE_LIMIT_PER_HOUR=100)
def test_errors_and_unknown_paths_carry_the_headers_too(client: Client) -> None:
    assert _remaining(client, "/v1/no/such/path") == (404, "100", "99")
    assert _remaining(client, "/v1/errors/not-found") == (404, "100", "98")


@override_settings(API_RATE_LIMIT_PER_HOUR=2)
def test_over_the_limit_is_429_with_retry_after(client: Client) -> None:
    client.get("/v1/things/1")
    client.get("/v1/things/1")

    response = client.get("/v1/things/1")

    assert response.status_code == 429
    assert response.json() == {
        "meta": {
            "code": 429,
            "error_type": "OAuthRateLimitException",
            "error_message": "The maximum number of requests per hour has been exceeded.",
        }
    }
    assert response["X-Ratelimit-Limit"] == "2"
    assert response["X-Ratelimit-Remaining"] == "0"
    assert 1 <= int(response["Retry-After"]) <= WINDOW_SECONDS


@override_settings(API_RATE_LIMIT_PER_HOUR=100)
def test_each_token_has_its_own_allowance(
    client: Client, make_user: Callable[..., User], make_token: Callable[..., AccessToken]
) -> None:
    first, second = make_token(make_user()), make_token(make_user())
    header = {"HTTP_AUTHORIZATION": f"Bearer {first.token}"}

    assert _remaining(client, **header) == (200, "100", "99")
    assert _remaining(client, **header) == (200, "100", "98")
    assert _remaining(client, f"/v1/things/1?access_token={second.token}") == (200, "100", "99")
    assert _remaining(client) == (200, "100", "99")  # the anonymous address


def test_token_counter_is_shared_across_addresses(
    user: User, make_token: Callable[..., AccessToken]
) -> None:
    token = make_token(user)
    header = {"HTTP_AUTHORIZATION": f"Bearer {token.token}"}

    _, _, before = _remaining(Client(REMOTE_ADDR="10.1.1.1"), **header)
    _, _, after = _remaining(Client(REMOTE_ADDR="10.2.2.2"), **header)

    assert int(after) == int(before) - 1


@override_settings(API_RATE_LIMIT_PER_HOUR=100)
def test_made_up_tokens_count_against_the_address(client: Client) -> None:
    assert _remaining(client, "/v1/public?access_token=one") == (400, "100", "99")
    assert _remaining(client, "/v1/public?access_token=two") == (400, "100", "98")


@override_settings(API_RATE_LIMIT_PER_HOUR=100)
def test_forwarded_address_is_believed_only_from_the_proxy(client_ip: str) -> None:
    proxied = Client(REMOTE_ADDR="127.0.0.1")
    spoofing = Client(REMOTE_ADDR=client_ip)
    # nginx appends the address it saw; the client may have written anything before it.
    forwarded = {"HTTP_X_FORWARDED_FOR": f"6.6.6.6, {client_ip}"}

    assert _remaining(proxied, **forwarded) == (200, "100", "99")
    assert _remaining(spoofing, HTTP_X_FORWARDED_FOR="127.0.0.1") == (200, "100", "98")


@override_settings(API_RATE_LIMIT_PER_HOUR=100, ABUSE_TRUSTED_PROXIES=["172.28.0.0/24"])
def test_clients_behind_a_configured_proxy_network_are_counted_apart(client_ip: str) -> None:
    # The compose nginx: an address of the docker network, named in the setting as a CIDR.
    nginx = Client(REMOTE_ADDR="172.28.0.10")
    other = f"{client_ip}.".replace("10.", "11.", 1).rstrip(".")
    first, second = f"{client_ip}, {other}", f"6.6.6.6, {client_ip}"

    assert _remaining(nginx, HTTP_X_FORWARDED_FOR=f"6.6.6.6, {client_ip}") == (200, "100", "99")
    # The same client whatever it writes on the left; another client starts its own count.
    assert _remaining(nginx, HTTP_X_FORWARDED_FOR=f"7.7.7.7, {client_ip}") == (200, "100", "98")
    assert _remaining(nginx, HTTP_X_FORWARDED_FOR=first) == (200, "100", "99")
    assert _remaining(nginx, HTTP_X_FORWARDED_FOR=second) == (200, "100", "97")


def test_ipv6_clients_are_counted_per_64() -> None:
    network = f"2001:db8:{secrets.randbelow(65536):x}:{secrets.randbelow(65536):x}"
    first = Client(REMOTE_ADDR=f"{network}::1")
    second = Client(REMOTE_ADDR=f"{network}:ffff::2")

    _, _, before = _remaining(first)
    _, _, after = _remaining(second)

    assert int(after) == int(before) - 1


def test_one_round_trip_counts_and_expires_the_window() -> None:
    identity = "ip:192.0.2.77"
    now = 1_700_000_000.0
    key = f"api:rate:{identity}:{int(now // WINDOW_SECONDS)}"
    redis_client().delete(key)

    state = rate_count(identity, now=now)

    assert state is not None
    assert (state.count, state.retry_after) == (1, WINDOW_SECONDS - int(now % WINDOW_SECONDS))
    assert 0 < redis_client().ttl(key) <= state.retry_after + 1
    redis_client().delete(key)


@pytest.mark.usefixtures("redis_down")
@override_settings(API_RATE_LIMIT_PER_HOUR=1)
def test_redis_down_serves_reads_uncounted(client: Client) -> None:
    responses = [client.get("/v1/things/1") for _ in range(3)]

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert all("X-Ratelimit-Limit" not in r for r in responses)


@override_settings(API_RATE_LIMIT_PER_HOUR=100)
def test_form_token_is_counted_against_the_token(
    client: Client, user: User, make_token: Callable[..., AccessToken]
) -> None:
    token = make_token(user, scope="likes")
    urlencoded = "application/x-www-form-urlencoded"

    first = client.post("/v1/likes", f"access_token={token.token}", content_type=urlencoded)
    second = client.post("/v1/likes", f"access_token={token.token}", content_type=urlencoded)

    assert [first.status_code, second.status_code] == [200, 200]
    assert second["X-Ratelimit-Remaining"] == "98"
    assert _remaining(client) == (200, "100", "99")  # the address was not charged


@override_settings(API_RATE_LIMIT_PER_HOUR=1)
def test_over_the_limit_upload_is_refused_before_its_body_is_read(client: Client) -> None:
    client.get("/v1/things/1")
    broken_multipart = b'--x\r\nContent-Disposition: form-data; name="text"\r\n\r\nhi'

    response = client.post(
        "/v1/notes", data=broken_multipart, content_type="multipart/form-data; boundary="
    )

    assert response.status_code == 429
