"""Access tokens as v1 took them: query, form or Bearer header; every way a token can be bad."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken

from accounts.models import User
from instaclone.sharding.instrumentation import count_queries

DATABASES = ["default", "shards_0", "shards_1"]
pytestmark = [pytest.mark.django_db(databases=DATABASES), pytest.mark.urls("v1_test_site")]

MakeToken = Callable[..., AccessToken]


def _meta(response: Any) -> dict[str, Any]:
    meta: dict[str, Any] = response.json()["meta"]
    return meta


def test_token_as_query_parameter(client: Client, user: User, make_token: MakeToken) -> None:
    token = make_token(user)

    response = client.get("/v1/users/self/whoami", {"access_token": token.token})

    assert response.status_code == 200
    assert response.json()["data"] == {"id": str(user.id), "username": user.username}


def test_token_as_bearer_header(client: Client, user: User, make_token: MakeToken) -> None:
    token = make_token(user)

    response = client.get("/v1/users/self/whoami", HTTP_AUTHORIZATION=f"Bearer {token.token}")

    assert response.status_code == 200
    assert response.json()["data"]["id"] == str(user.id)


def test_token_as_form_parameter(client: Client, user: User, make_token: MakeToken) -> None:
    token = make_token(user, scope="likes")

    response = client.post(
        "/v1/likes",
        urlencode({"access_token": token.token}),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert response.json()["data"]["id"] == str(user.id)


def test_token_as_multipart_form_parameter(
    client: Client, user: User, make_token: MakeToken
) -> None:
    token = make_token(user, scope="likes")

    response = client.post("/v1/likes", {"access_token": token.token, "note": "x"})

    assert response.status_code == 200


def test_missing_token(client: Client) -> None:
    response = client.get("/v1/users/self/whoami")

    assert response.status_code == 400
    assert _meta(response) == {
        "code": 400,
        "error_type": "OAuthParameterException",
        "error_message": "Missing access_token: send it as a parameter or an Authorization: "
        "Bearer header.",
    }


def test_unknown_token(client: Client) -> None:
    response = client.get("/v1/users/self/whoami", {"access_token": "not-a-real-token"})

    assert response.status_code == 400
    assert _meta(response) == {
        "code": 400,
        "error_type": "OAuthAccessTokenException",
        "error_message": "The access_token provided is invalid.",
    }


def test_oversized_token_is_invalid_without_a_lookup(client: Client) -> None:
    with count_queries() as queries:
        response = client.get("/v1/users/self/whoami", HTTP_AUTHORIZATION="Bearer " + "x" * 5000)

    assert _meta(response)["error_type"] == "OAuthAccessTokenException"
    assert queries["default"] == 0


def test_non_bearer_authorization_header_is_no_token(client: Client) -> None:
    response = client.get("/v1/users/self/whoami", HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")

    assert _meta(response)["error_type"] == "OAuthParameterException"


def test_expired_token(client: Client, user: User, make_token: MakeToken) -> None:
    token = make_token(user, expires_in=-1)

    response = client.get("/v1/users/self/whoami", {"access_token": token.token})

    assert _meta(response) == {
        "code": 400,
        "error_type": "OAuthAccessTokenException",
        "error_message": "The access_token provided has expired.",
    }


def test_revoked_token_stops_working_at_once(
    client: Client, user: User, make_token: MakeToken
) -> None:
    token = make_token(user)
    assert client.get("/v1/users/self/whoami", {"access_token": token.token}).status_code == 200

    token.revoke()
    response = client.get("/v1/users/self/whoami", {"access_token": token.token})

    assert _meta(response)["error_type"] == "OAuthAccessTokenException"


def test_shortened_expiry_applies_at_once(
    client: Client, user: User, make_token: MakeToken
) -> None:
    token = make_token(user)
    assert client.get("/v1/users/self/whoami", {"access_token": token.token}).status_code == 200

    token.expires = timezone.now() - timedelta(seconds=1)
    token.save()
    response = client.get("/v1/users/self/whoami", {"access_token": token.token})

    assert _meta(response)["error_message"] == "The access_token provided has expired."


def test_missing_scope(client: Client, user: User, make_token: MakeToken) -> None:
    token = make_token(user, scope="basic comments")

    response = client.post("/v1/likes", {"access_token": token.token})

    assert _meta(response) == {
        "code": 400,
        "error_type": "OAuthPermissionsException",
        "error_message": "This request requires scope=likes, but this access_token is not "
        "authorized with that scope.",
    }


def test_basic_scope_is_implied(client: Client, user: User, make_token: MakeToken) -> None:
    token = make_token(user, scope="likes")

    response = client.get("/v1/users/self/whoami", {"access_token": token.token})

    assert response.status_code == 200


def test_banned_user_is_refused_at_once(client: Client, user: User, make_token: MakeToken) -> None:
    token = make_token(user)
    assert client.get("/v1/users/self/whoami", {"access_token": token.token}).status_code == 200

    user.is_active = False
    user.save(update_fields=["is_active"])
    response = client.get("/v1/users/self/whoami", {"access_token": token.token})

    assert _meta(response) == {
        "code": 400,
        "error_type": "OAuthAccessTokenException",
        "error_message": "The account of this access_token is deactivated.",
    }


def test_token_lookup_is_one_query_then_cached(
    client: Client, user: User, make_token: MakeToken
) -> None:
    token = make_token(user)
    url = "/v1/users/self/whoami"

    with count_queries() as first:
        assert client.get(url, {"access_token": token.token}).status_code == 200
    with count_queries() as second:
        assert client.get(url, {"access_token": token.token}).status_code == 200

    assert first["default"] == 1
    assert second["default"] == 0


def test_session_login_does_not_authenticate_the_api(client: Client, user: User) -> None:
    client.force_login(user)

    required = client.get("/v1/users/self/whoami")
    optional = client.get("/v1/public")

    assert _meta(required)["error_type"] == "OAuthParameterException"
    assert optional.json()["data"] == {"id": None, "username": None}


def test_optional_auth_serves_anonymous_callers(client: Client) -> None:
    response = client.get("/v1/public")

    assert response.status_code == 200
    assert response.json()["data"] == {"id": None, "username": None}


def test_optional_auth_knows_a_token_user(
    client: Client, user: User, make_token: MakeToken
) -> None:
    token = make_token(user)

    response = client.get("/v1/public", HTTP_AUTHORIZATION=f"Bearer {token.token}")

    assert response.json()["data"] == {"id": str(user.id), "username": user.username}


def test_optional_auth_refuses_a_bad_token(client: Client) -> None:
    response = client.get("/v1/public", {"access_token": "made-up"})

    assert _meta(response)["error_type"] == "OAuthAccessTokenException"


def test_self_resolves_to_the_token_user_and_ids_pass_through(
    client: Client, user: User, make_token: MakeToken
) -> None:
    token = make_token(user)

    response = client.get("/v1/users/12345/whoami", {"access_token": token.token})

    assert response.json()["data"] == {"id": "12345", "username": user.username}


@pytest.mark.parametrize(
    "raw", ["abc", "-1", "0", "+5", "1.5", "1_2", "١٢", str(2**70), str(2**63)]
)
def test_junk_user_ids_are_400(client: Client, user: User, make_token: MakeToken, raw: str) -> None:
    token = make_token(user)

    response = client.get(f"/v1/users/{raw}/whoami", {"access_token": token.token})

    assert response.status_code == 400
    assert _meta(response) == {
        "code": 400,
        "error_type": "APIInvalidParametersError",
        "error_message": f"user_id must be a positive 64-bit integer, got {raw!r}",
    }


def test_largest_user_id_is_accepted(client: Client, user: User, make_token: MakeToken) -> None:
    token = make_token(user)

    response = client.get(f"/v1/users/{2**63 - 1}/whoami", {"access_token": token.token})

    assert response.json()["data"]["id"] == str(2**63 - 1)


@pytest.mark.parametrize("name", ["%61ccess_token", "access_toke%6E", "access%5Ftoke%6E"])
def test_token_under_a_name_the_logs_do_not_redact_is_not_read(
    client: Client, user: User, make_token: MakeToken, name: str
) -> None:
    token = make_token(user)

    response = client.get(f"/v1/users/self/whoami?{name}={token.token}")

    assert response.status_code == 400
    assert _meta(response) == {
        "code": 400,
        "error_type": "OAuthParameterException",
        "error_message": "Missing access_token: send it as a parameter or an Authorization: "
        "Bearer header.",
    }


def test_token_under_the_encoded_underscore_is_read(
    client: Client, user: User, make_token: MakeToken
) -> None:
    token = make_token(user)

    response = client.get(f"/v1/users/self/whoami?access%5Ftoken={token.token}")

    assert response.status_code == 200
    assert response.json()["data"]["id"] == str(user.id)
