"""Cursor pagination: count, max_id / min_id, and an absolute next_url right behind nginx."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client, override_settings
from oauth2_provider.models import AccessToken

from accounts.models import User

DATABASES = ["default", "shards_0", "shards_1"]
pytestmark = [pytest.mark.django_db(databases=DATABASES), pytest.mark.urls("v1_test_site")]

PROXIED = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_PROTO": "https"}


def _ids(body: dict[str, Any]) -> list[str]:
    return [row["id"] for row in body["data"]]


def test_first_page_has_count_rows_and_a_next_cursor(client: Client) -> None:
    body = client.get("/v1/things", {"count": "3"}).json()

    assert _ids(body) == ["50", "49", "48"]
    assert body["pagination"] == {
        "next_url": "http://testserver/v1/things?count=3&max_id=48",
        "next_max_id": "48",
    }


def test_next_url_gives_the_next_page(client: Client) -> None:
    first = client.get("/v1/things", {"count": "3"}).json()

    second = client.get(first["pagination"]["next_url"]).json()

    assert _ids(second) == ["47", "46", "45"]


def test_default_count_is_20(client: Client) -> None:
    body = client.get("/v1/things").json()

    assert len(body["data"]) == 20
    assert body["pagination"]["next_max_id"] == "31"


def test_count_above_the_maximum_is_capped(client: Client) -> None:
    body = client.get("/v1/things", {"count": "1000"}).json()

    assert len(body["data"]) == 50
    assert body["pagination"] == {}


def test_last_page_has_empty_pagination(client: Client) -> None:
    body = client.get("/v1/things", {"count": "5", "max_id": "6"}).json()

    assert _ids(body) == ["5", "4", "3", "2", "1"]
    assert body["pagination"] == {}


def test_min_id_bounds_the_page_and_stays_in_next_url(client: Client) -> None:
    body = client.get("/v1/things", {"count": "2", "min_id": "45"}).json()

    assert _ids(body) == ["50", "49"]
    assert body["pagination"]["next_url"] == (
        "http://testserver/v1/things?count=2&min_id=45&max_id=49"
    )


def test_media_form_cursor_is_accepted(client: Client) -> None:
    body = client.get("/v1/things", {"count": "1", "max_id": "10_777"}).json()

    assert _ids(body) == ["9"]


def test_next_url_replaces_the_old_max_id_and_keeps_other_parameters(client: Client) -> None:
    body = client.get("/v1/things", {"count": "2", "max_id": "30", "q": "a b&c"}).json()

    assert body["pagination"]["next_url"] == (
        "http://testserver/v1/things?count=2&max_id=28&q=a+b%26c"
    )


def test_next_url_keeps_the_json_suffix(client: Client) -> None:
    body = client.get("/v1/things.json", {"count": "2"}).json()

    assert body["pagination"]["next_url"] == "http://testserver/v1/things.json?count=2&max_id=49"


@override_settings(ALLOWED_HOSTS=["api.instaclone.example"])
def test_next_url_is_absolute_behind_the_proxy() -> None:
    client = Client(**PROXIED, HTTP_X_FORWARDED_HOST="api.instaclone.example")

    body = client.get("/v1/things", {"count": "2"}, HTTP_HOST="10.0.0.5:8000").json()

    assert body["pagination"]["next_url"] == (
        "https://api.instaclone.example/v1/things?count=2&max_id=49"
    )


def test_next_url_keeps_a_query_token(
    client: Client, user: User, make_token: Callable[..., AccessToken]
) -> None:
    token = make_token(user)

    body = client.get("/v1/things", {"count": "2", "access_token": token.token}).json()

    assert body["pagination"]["next_url"] == (
        f"http://testserver/v1/things?count=2&access_token={token.token}&max_id=49"
    )


def test_next_url_never_carries_a_header_token(
    client: Client, user: User, make_token: Callable[..., AccessToken]
) -> None:
    token = make_token(user)

    body = client.get(
        "/v1/things", {"count": "2"}, HTTP_AUTHORIZATION=f"Bearer {token.token}"
    ).json()

    assert body["pagination"]["next_url"] == "http://testserver/v1/things?count=2&max_id=49"
    assert token.token not in body["pagination"]["next_url"]


def test_tag_lists_use_their_own_cursor_names(client: Client) -> None:
    body = client.get("/v1/tagged", {"count": "2", "max_tag_id": "40"}).json()

    assert _ids(body) == ["39", "38"]
    assert body["pagination"] == {
        "next_url": "http://testserver/v1/tagged?count=2&max_tag_id=38",
        "next_max_tag_id": "38",
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"count": "0"},
            "Invalid query parameter 'count': Input should be greater than or equal to 1",
        ),
        (
            {"count": "-5"},
            "Invalid query parameter 'count': Input should be greater than or equal to 1",
        ),
        (
            {"count": "ten"},
            "Invalid query parameter 'count': Input should be a valid integer, unable to parse "
            "string as an integer",
        ),
        ({"max_id": "abc"}, "max_id must be a positive 64-bit integer, got 'abc'"),
        ({"max_id": "-1"}, "max_id must be a positive 64-bit integer, got '-1'"),
        ({"max_id": str(2**70)}, f"max_id must be a positive 64-bit integer, got '{2**70}'"),
        ({"min_id": "1e9"}, "min_id must be a positive 64-bit integer, got '1e9'"),
        ({"max_id": "5_x"}, "max_id must be a positive 64-bit integer, got '5_x'"),
    ],
)
def test_junk_page_parameters_are_400(client: Client, params: dict[str, str], message: str) -> None:
    response = client.get("/v1/things", params)

    assert response.status_code == 400
    assert response.json()["meta"] == {
        "code": 400,
        "error_type": "APIInvalidParametersError",
        "error_message": message,
    }


def test_page_query_makes_other_cursor_names(client: Client) -> None:
    body = client.get("/v1/liked", {"count": "1", "max_like_id": "3"}).json()

    assert _ids(body) == ["2"]
    assert body["pagination"] == {
        "next_url": "http://testserver/v1/liked?count=1&max_like_id=2",
        "next_like_id": "2",
    }


def test_junk_tag_cursor_names_its_parameter(client: Client) -> None:
    response = client.get("/v1/tagged", {"max_tag_id": "nope"})

    assert response.json()["meta"]["error_message"] == (
        "max_tag_id must be a positive 64-bit integer, got 'nope'"
    )
