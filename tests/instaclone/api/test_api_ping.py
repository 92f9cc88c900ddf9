"""GET /v1/ping: pong for a valid token, v1's OAuth errors without one."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from oauth2_provider.models import AccessToken

from accounts.models import User

DATABASES = ["default", "shards_0", "shards_1"]
pytestmark = pytest.mark.django_db(databases=DATABASES)

MakeToken = Callable[..., AccessToken]


def test_ping_answers_pong_to_a_token(client: Client, user: User, make_token: MakeToken) -> None:
    token = make_token(user)

    response = client.get("/v1/ping", HTTP_AUTHORIZATION=f"Bearer {token.token}")

    assert response.status_code == 200
    assert response.json() == {"meta": {"code": 200}, "data": {"pong": True}}
    assert {"X-Ratelimit-Limit", "X-Ratelimit-Remaining"} <= set(response.headers)


def test_ping_takes_the_token_as_a_parameter_and_json_suffix(
    client: Client, user: User, make_token: MakeToken
) -> None:
    token = make_token(user)

    response = client.get("/v1/ping.json", {"access_token": token.token})

    assert response.status_code == 200
    assert response.json()["data"] == {"pong": True}


def test_ping_without_a_token_is_refused(client: Client) -> None:
    response = client.get("/v1/ping")

    assert response.status_code == 400
    assert response.json()["meta"]["error_type"] == "OAuthParameterException"


def test_ping_with_a_bad_or_expired_token_is_refused(
    client: Client, user: User, make_token: MakeToken
) -> None:
    expired = make_token(user, expires_in=-1)

    for token in ("not-a-real-token", expired.token):
        response = client.get("/v1/ping", HTTP_AUTHORIZATION=f"Bearer {token}")

        assert response.status_code == 400
        assert response.json()["meta"]["code"] == 400
        assert response.json()["meta"]["error_type"] == "OAuthAccessTokenException"
