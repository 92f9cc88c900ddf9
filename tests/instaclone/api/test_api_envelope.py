"""Every /v1/ answer is the v1 envelope: successes, each error type, 404/405/500, bad bodies."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.core.signals import got_request_exception
from django.test import Client, override_settings

DATABASES = ["default", "shards_0", "shards_1"]
pytestmark = [pytest.mark.django_db(databases=DATABASES), pytest.mark.urls("v1_test_site")]


def test_success_is_meta_and_data_without_pagination(client: Client) -> None:
    response = client.get("/v1/things/7")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json() == {"meta": {"code": 200}, "data": {"id": "7", "name": "thing 7"}}


def test_list_carries_pagination(client: Client) -> None:
    body = client.get("/v1/things", {"count": "2"}).json()

    assert body["meta"] == {"code": 200}
    assert body["data"] == [{"id": "50"}, {"id": "49"}]
    assert body["pagination"]["next_max_id"] == "49"


@pytest.mark.parametrize(
    ("name", "status", "error_type", "message"),
    [
        ("base", 418, "APITeapotError", "short and stout"),
        ("not-found", 404, "APINotFoundError", "no such thing"),
        ("not-allowed", 400, "APINotAllowedError", "not yours"),
        ("invalid", 400, "APIInvalidParametersError", "bad count"),
        ("oauth-parameter", 400, "OAuthParameterException", "no token"),
        ("oauth-token", 400, "OAuthAccessTokenException", "bad token"),
        ("oauth-permissions", 400, "OAuthPermissionsException", "no scope"),
        ("rate-limit", 429, "OAuthRateLimitException", "slow down"),
    ],
)
def test_each_error_class_answers_its_envelope(
    client: Client, name: str, status: int, error_type: str, message: str
) -> None:
    response = client.get(f"/v1/errors/{name}")

    assert response.status_code == status
    assert response.json() == {
        "meta": {"code": status, "error_type": error_type, "error_message": message}
    }


def test_rate_limit_error_carries_retry_after(client: Client) -> None:
    assert client.get("/v1/errors/rate-limit")["Retry-After"] == "42"


def test_http404_raised_in_a_view_is_an_envelope(client: Client) -> None:
    response = client.get("/v1/things/0")

    assert response.status_code == 404
    assert response.json()["meta"]["error_type"] == "APINotFoundError"


def test_unknown_path_is_a_404_envelope_not_html(client: Client) -> None:
    response = client.get("/v1/no/such/thing")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "meta": {
            "code": 404,
            "error_type": "APINotFoundError",
            "error_message": "No API endpoint at /v1/no/such/thing.",
        }
    }


def test_api_root_is_a_404_envelope(client: Client) -> None:
    response = client.get("/v1/")

    assert response.status_code == 404
    assert response.json()["meta"]["error_type"] == "APINotFoundError"


def test_wrong_method_is_a_405_envelope_with_allow(client: Client) -> None:
    response = client.delete("/v1/things/7")

    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response.json() == {
        "meta": {
            "code": 405,
            "error_type": "APINotAllowedError",
            "error_message": "DELETE is not allowed here; use GET.",
        }
    }


def test_unhandled_exception_is_a_500_envelope_reported_without_traceback(
    client_ip: str, caplog: pytest.LogCaptureFixture
) -> None:
    reported: list[Any] = []

    def receiver(sender: Any, request: Any, **kwargs: Any) -> None:
        reported.append(request.path)

    # Sentry's Django integration listens to this signal; so does Django's test client.
    got_request_exception.connect(receiver)
    try:
        with caplog.at_level(logging.ERROR, logger="django.request"):
            response = Client(REMOTE_ADDR=client_ip, raise_request_exception=False).get("/v1/crash")
    finally:
        got_request_exception.disconnect(receiver)

    assert response.status_code == 500
    assert response.json() == {
        "meta": {"code": 500, "error_type": "APIError", "error_message": "Internal server error."}
    }
    assert b"hunter2" not in response.content and b"Traceback" not in response.content
    assert reported == ["/v1/crash"]
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == "Internal Server Error: /v1/crash"
    assert record.exc_info is not None and str(record.exc_info[1]) == "database password is hunter2"


def test_database_down_is_a_503_envelope_with_retry_after(client_ip: str) -> None:
    response = Client(REMOTE_ADDR=client_ip, raise_request_exception=False).get("/v1/database-down")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "meta": {
            "code": 503,
            "error_type": "APIUnavailableError",
            "error_message": "Temporarily unavailable. Try again in a few seconds.",
        }
    }


def test_invalid_query_parameter_names_the_field(client: Client) -> None:
    response = client.get("/v1/things", {"count": "many"})

    assert response.status_code == 400
    assert response.json()["meta"] == {
        "code": 400,
        "error_type": "APIInvalidParametersError",
        "error_message": "Invalid query parameter 'count': Input should be a valid integer, "
        "unable to parse string as an integer",
    }


def test_invalid_path_parameter_names_the_field(client: Client) -> None:
    response = client.get("/v1/things/seven")

    assert response.status_code == 400
    assert response.json()["meta"]["error_message"] == (
        "Invalid path parameter 'thing_id': Input should be a valid integer, "
        "unable to parse string as an integer"
    )


def test_form_body_is_read(client: Client) -> None:
    response = client.post("/v1/notes", {"text": "hi", "stars": "3"})

    assert response.status_code == 200
    assert response.json()["data"] == {"text": "hi", "stars": 3}


def test_missing_form_field_names_the_field(client: Client) -> None:
    response = client.post("/v1/notes", {"text": "hi"})

    assert response.status_code == 400
    assert (
        response.json()["meta"]["error_message"] == "Invalid form parameter 'stars': Field required"
    )


def test_malformed_json_body_is_a_400_envelope(client: Client) -> None:
    response = client.post(
        "/v1/json-notes", data='{"text": "hi", ', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["meta"] == {
        "code": 400,
        "error_type": "APIInvalidParametersError",
        "error_message": "Cannot parse request body",
    }


def test_json_body_with_a_wrong_type_names_the_field(client: Client) -> None:
    response = client.post(
        "/v1/json-notes",
        data=json.dumps({"text": "hi", "stars": "lots"}),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["meta"]["error_message"] == (
        "Invalid body parameter 'stars': Input should be a valid integer, "
        "unable to parse string as an integer"
    )


def test_malformed_multipart_body_is_a_400_envelope(client: Client) -> None:
    response = client.post(
        "/v1/notes",
        data=b'--x\r\nContent-Disposition: form-data; name="text"\r\n\r\nhi',
        content_type="multipart/form-data; boundary=",
    )

    assert response.status_code == 400
    assert response.json()["meta"] == {
        "code": 400,
        "error_type": "APIInvalidParametersError",
        "error_message": "The request body could not be read or parsed.",
    }


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_oversized_form_body_is_a_413_envelope(client: Client) -> None:
    response = client.post(
        "/v1/notes",
        data="text=" + "a" * 5000 + "&stars=1",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 413
    assert response.json()["meta"] == {
        "code": 413,
        "error_type": "APIInvalidParametersError",
        "error_message": "The request body is too large.",
    }


def test_multi_megabyte_form_body_is_a_413_envelope(client: Client) -> None:
    response = client.post(
        "/v1/notes",
        data="text=" + "a" * (3 * 1024 * 1024),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 413
    assert response.json()["meta"]["code"] == 413


def test_too_many_form_fields_is_a_400_envelope(client: Client) -> None:
    body = "&".join(f"f{n}=1" for n in range(1100))

    response = client.post("/v1/notes", data=body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400
    assert (
        response.json()["meta"]["error_message"] == "The request body could not be read or parsed."
    )


def test_refused_host_is_a_400_envelope(client: Client) -> None:
    response = client.get("/v1/things/7", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response.json()["meta"] == {
        "code": 400,
        "error_type": "APIInvalidParametersError",
        "error_message": "Bad Request",
    }


def test_json_suffix_reaches_the_same_operation(client: Client) -> None:
    plain = client.get("/v1/things/7")
    suffixed = client.get("/v1/things/7.json")

    assert suffixed.status_code == 200
    assert suffixed.json() == plain.json()


def test_json_suffix_works_on_lists_and_posts(client: Client) -> None:
    assert client.get("/v1/things.json", {"count": "1"}).json()["data"] == [{"id": "50"}]
    posted = client.post("/v1/notes.json", {"text": "hi", "stars": "1"})
    assert posted.json()["data"] == {"text": "hi", "stars": 1}


def test_openapi_document_keeps_its_json_name(client: Client) -> None:
    response = client.get("/v1/openapi.json")

    assert response.status_code == 200
    assert response.json()["openapi"] == "3.1.0"


def test_docs_page_is_served(client: Client) -> None:
    response = client.get("/v1/docs")

    assert response.status_code == 200
    assert b"/v1/openapi.json" in response.content


def test_paths_outside_v1_are_left_alone(client: Client) -> None:
    response = client.get("/nothing-here.json")

    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")
    assert "X-Ratelimit-Limit" not in response
