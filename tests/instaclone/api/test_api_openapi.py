"""The OpenAPI document declares every answer each operation can give."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from instaclone.api.site import api as production_api

DATABASES = ["default", "shards_0", "shards_1"]
pytestmark = [pytest.mark.django_db(databases=DATABASES), pytest.mark.urls("v1_test_site")]

METHODS = {"get", "post", "put", "patch", "delete"}
ERROR_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        if method in METHODS
    ]


def _check_operation(path: str, method: str, operation: dict[str, Any]) -> None:
    responses = operation["responses"]
    wanted = {"200", "400", "429", "500", "503"} | ({"404"} if "{" in path else set())
    assert wanted <= set(responses), f"{method.upper()} {path} lacks {wanted - set(responses)}"
    for code, response in responses.items():
        assert {"X-Ratelimit-Limit", "X-Ratelimit-Remaining"} <= set(response["headers"])
        if code != "200":
            assert response["content"]["application/json"]["schema"] == ERROR_REF, (path, code)
    assert "Retry-After" in responses["429"]["headers"]
    assert "Retry-After" in responses["503"]["headers"]


def test_every_operation_declares_its_answers(client: Client) -> None:
    document = client.get("/v1/openapi.json").json()
    operations = _operations(document)

    assert len(operations) == 12
    for path, method, operation in operations:
        _check_operation(path, method, operation)


def test_production_document_declares_every_answer() -> None:
    document = production_api.get_openapi_schema(path_prefix="/v1/")
    operations = _operations(document)

    # The check below runs per operation: the document must hold the API, not nothing.
    declared = {(path, method) for path, method, _ in operations}
    assert {
        ("/v1/users/self/feed", "get"),
        ("/v1/media/popular", "get"),
        ("/v1/media/upload", "post"),
        ("/v1/media/{media_id}/likes", "post"),
        ("/v1/media/{media_id}/comments", "get"),
        ("/v1/tags/{name}/media/recent", "get"),
        ("/v1/users/{user_id}/relationship", "post"),
    } <= declared, sorted(declared)
    for path, method, operation in operations:
        _check_operation(path, method, {**operation, "responses": _str_keys(operation)})


def _str_keys(operation: dict[str, Any]) -> dict[str, Any]:
    return {str(code): response for code, response in operation["responses"].items()}


def test_error_envelope_schema_is_published(client: Client) -> None:
    schemas = client.get("/v1/openapi.json").json()["components"]["schemas"]

    assert schemas["ErrorEnvelope"]["properties"]["meta"] == {
        "$ref": "#/components/schemas/ErrorMeta"
    }
    assert schemas["ErrorMeta"]["required"] == ["code", "error_type", "error_message"]


def test_success_schema_is_the_envelope(client: Client) -> None:
    document = client.get("/v1/openapi.json").json()
    detail = document["paths"]["/v1/things/{thing_id}"]["get"]["responses"]["200"]
    listing = document["paths"]["/v1/things"]["get"]

    ref = detail["content"]["application/json"]["schema"]["$ref"]
    envelope = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(envelope["properties"]) == {"meta", "data"}
    list_ref = listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    paged = document["components"]["schemas"][list_ref.rsplit("/", 1)[1]]
    assert set(paged["properties"]) == {"meta", "data", "pagination"}
    assert {p["name"] for p in listing["parameters"]} == {"count", "max_id", "min_id"}


def test_oauth2_scheme_and_scopes_are_declared(client: Client) -> None:
    document = client.get("/v1/openapi.json").json()
    scheme = document["components"]["securitySchemes"]["oauth2"]
    paths = document["paths"]

    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["password"]["tokenUrl"] == "/oauth/access_token"
    assert scheme["flows"]["authorizationCode"]["authorizationUrl"] == "/oauth/authorize"
    assert set(scheme["flows"]["password"]["scopes"]) == {
        "basic",
        "publish",
        "comments",
        "relationships",
        "likes",
    }
    assert paths["/v1/likes"]["post"]["security"] == [{"oauth2": ["likes"]}]
    assert paths["/v1/public"]["get"]["security"] == [{"oauth2": ["basic"]}, {}]
    assert "security" not in paths["/v1/things"]["get"]
