"""OWASP API9, improper inventory management: what answers under /v1/ is what the document lists.

The production URLconf is read for every pattern mounted under /v1/; each is an operation of the
OpenAPI document (or the document and its docs page), and each documented operation is served.
Methods a path does not document answer 405 naming only the documented ones; paths nobody
documented, and other API versions, answer 404.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from instaclone.api.scopes import api_operations
from instaclone.api.site import api

DATABASES = ["default", "shards_0", "shards_1"]
pytestmark = pytest.mark.django_db(databases=DATABASES)
DOCUMENT_PAGES = {"/v1/openapi.json", "/v1/docs"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _patterns(patterns: list[Any], prefix: str = "") -> list[str]:
    """Return every URL pattern below ``patterns`` as one route string."""
    found: list[str] = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += _patterns(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            found.append(route)
    return found


def _openapi_path(route: str) -> str:
    return "/" + route.replace("<", "{").replace(">", "}")


def _document() -> dict[str, Any]:
    answer = Client().get("/v1/openapi.json")
    assert answer.status_code == 200
    return answer.json()


def test_every_route_under_v1_is_documented_and_every_documented_route_is_served() -> None:
    mounted = [p for p in get_resolver().url_patterns if str(p.pattern).startswith("v1")]
    served = {_openapi_path(route) for route in _patterns(mounted)}
    documented = set(_document()["paths"])

    assert [str(p.pattern) for p in mounted] == ["v1/"]
    # The API's root pattern only answers 404 (test_unknown_paths_answer_a_404_envelope).
    assert served - {"/v1/"} == documented | DOCUMENT_PAGES


def test_documented_methods_are_exactly_the_registered_operations() -> None:
    document = _document()
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method.upper() in METHODS
    }
    registered = {(op.method, "/v1" + op.path) for op in api_operations(api)}

    assert documented == registered
    assert len(registered) >= 25  # the API as of this test, not an empty document


def test_undocumented_methods_answer_405_naming_the_documented_ones() -> None:
    document = _document()
    for path, operations in document["paths"].items():
        allowed = sorted(m.upper() for m in operations if m.upper() in METHODS)
        concrete = path.replace("{name}", "sunset").replace("{code}", "B")
        concrete = concrete.replace("{user_id}", "1").replace("{media_id}", "1")
        concrete = concrete.replace("{comment_id}", "1")
        for method in METHODS:
            if method in allowed:
                continue
            answer = Client().generic(method, concrete)
            assert answer.status_code == 405, (method, concrete, answer.content)
            assert answer.json()["meta"]["error_type"] == "APINotAllowedError"
            assert sorted(answer["Allow"].split(", ")) == allowed, (method, concrete)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/",
        "/v1/admin/",
        "/v1/internal/users",
        "/v1/users/1/media/recent/all",
        "/v1/media/1/likes/2",
        "/v1/users/self/feed/debug",
        "/v1/locations/1",
        "/v1/users/1/email",
    ],
)
def test_unknown_paths_answer_a_404_envelope(path: str) -> None:
    answer = Client().get(path)

    assert answer.status_code == 404
    assert answer.json() == {
        "meta": {
            "code": 404,
            "error_type": "APINotFoundError",
            "error_message": f"No API endpoint at {path}.",
        }
    }


@pytest.mark.parametrize("path", ["/v0/users/self", "/v2/users/self", "/api/v1/users/self"])
def test_no_other_api_version_answers(path: str) -> None:
    assert Client().get(path).status_code == 404
