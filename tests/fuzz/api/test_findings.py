"""What the Schemathesis run found, each fixed and kept fixed here.

- A request line between Gunicorn's 4 KB and nginx's 8 KB got Gunicorn's HTML 414, and a longer
  one nginx's HTML 414; neither was in the document.
- The document let any string stand for an ID or a tag name, so most generated requests were
  refused with 400 before reaching any data; now it states the forms the API accepts.
- Optional form fields were documented as nullable, which a form cannot send; the fuzzer's
  empty values for them were refused.
- No links: the stateful phase had nothing to follow from an upload to its photo, likes and
  comments, or from a user to their lists and relationship.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from typing import Any

import pytest

from instaclone.api.errors import APIInvalidParametersError
from instaclone.api.params import MAX_ID, parse_id
from instaclone.api.site import api as production_api

APP = os.environ.get("APP_URL", "http://127.0.0.1:18080")
METHODS = {"get", "post", "put", "patch", "delete"}


def _document() -> dict[str, Any]:
    return production_api.get_openapi_schema(path_prefix="/v1/")  # type: ignore[return-value]


def _parameter_schema(operation: dict[str, Any], name: str) -> dict[str, Any]:
    (schema,) = [p["schema"] for p in operation["parameters"] if p["name"] == name]
    return next((s for s in schema.get("anyOf", [schema]) if s.get("type") == "string"), schema)


def _accepted(raw: str, *, media_form: bool) -> bool:
    try:
        parse_id(raw, name="id", media_form=media_form)
    except APIInvalidParametersError:
        return False
    return True


@pytest.mark.e2e
@pytest.mark.skipif(
    os.environ.get("INSTACLONE_PROFILE") != "test",
    reason="needs the test stack that `make test` brings up",
)
@pytest.mark.parametrize(
    ("length", "status"), [(6000, 200), (8100, 200), (9000, 414), (20000, 414)]
)
def test_a_long_request_line_is_served_or_refused_with_the_json_envelope(
    length: int, status: int
) -> None:
    request = urllib.request.Request(f"{APP}/v1/tags/fuzzing/media/recent?pad={'a' * length}")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - our stack
            code, body, kind = response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as exc:
        code, body, kind = exc.code, exc.read(), exc.headers["Content-Type"]

    assert (code, kind.split(";")[0]) == (status, "application/json"), body[:300]
    if status == 414:
        assert json.loads(body) == {
            "meta": {
                "code": 414,
                "error_type": "APIInvalidParametersError",
                "error_message": "The request line is too long.",
            }
        }


def test_every_operation_declares_the_414_of_a_long_request_line() -> None:
    paths = _document()["paths"]
    operations = [op for methods in paths.values() for m, op in methods.items() if m in METHODS]

    assert len(operations) >= 20
    for operation in operations:
        assert operation["responses"][414]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorEnvelope"
        }


@pytest.mark.parametrize(
    ("path", "name", "media_form"),
    [
        ("/v1/users/{user_id}", "user_id", False),
        ("/v1/media/{media_id}", "media_id", True),
        ("/v1/media/{media_id}/comments/{comment_id}", "comment_id", False),
        ("/v1/media/{media_id}/comments", "max_id", True),
        ("/v1/tags/{name}/media/recent", "min_tag_id", True),
    ],
)
def test_documented_id_patterns_are_what_the_api_accepts(
    path: str, name: str, media_form: bool
) -> None:
    methods = _document()["paths"][path]
    pattern = re.compile(_parameter_schema(next(iter(methods.values())), name)["pattern"])
    samples = ["1", "42", str(MAX_ID), str(MAX_ID - 1), str(MAX_ID + 1), "9" * 19, "0", "-1"]
    samples += ["1" + "0" * 18, "12_34", "12_", "_12", "１２", "\u00b2", "12 ", "x", "1e3"]

    for sample in samples:
        if pattern.fullmatch(sample):
            assert _accepted(sample, media_form=media_form), (name, sample)
    assert pattern.fullmatch(str(MAX_ID)) and pattern.fullmatch("42")
    for refused in (str(MAX_ID + 1), "9" * 19, "0", "-1", "x", "１２"):
        assert not pattern.fullmatch(refused), (name, refused)
    assert bool(pattern.fullmatch("12_34")) is media_form


def test_user_id_pattern_takes_self_and_shows_it_as_the_example() -> None:
    schema = _parameter_schema(_document()["paths"]["/v1/users/{user_id}"]["get"], "user_id")

    assert re.fullmatch(schema["pattern"], "self")
    assert not re.fullmatch(schema["pattern"], "selfie")
    assert schema["examples"] == ["self"]


def test_upload_form_fields_are_absent_or_a_value_never_null() -> None:
    upload = _document()["paths"]["/v1/media/upload"]["post"]["requestBody"]["content"]
    form = upload["multipart/form-data"]
    properties = form["schema"]["properties"]

    assert properties["crop_x"] == {"title": "Crop X", "type": "integer", "minimum": 0}
    assert properties["latitude"] == {"title": "Latitude", "type": "number"}
    assert form["schema"]["required"] == ["photo"]
    assert form["encoding"]["photo"]["contentType"].startswith("image/jpeg, image/png")


def test_links_lead_from_an_upload_to_its_photo_likes_comments_and_owner() -> None:
    document = _document()
    links = document["paths"]["/v1/media/upload"]["post"]["responses"][200]["links"]

    assert links["GetMediaMediaId"] == {
        "operationId": document["paths"]["/v1/media/{media_id}"]["get"]["operationId"],
        "parameters": {"media_id": "$response.body#/data/id"},
    }
    assert {"DeleteMediaMediaId", "PostMediaMediaIdLikes", "PostMediaMediaIdComments"} <= set(links)
    assert links["PostUsersUserIdRelationship"]["parameters"] == {
        "user_id": "$response.body#/data/user/id"
    }


def test_every_link_names_an_operation_and_its_parameters() -> None:
    document = _document()
    by_id = {
        op["operationId"]: op
        for methods in document["paths"].values()
        for method, op in methods.items()
        if method in METHODS
    }
    sources = 0
    for methods in document["paths"].values():
        for operation in methods.values():
            links = operation["responses"][200].get("links", {})
            sources += bool(links)
            for name, link in links.items():
                target = by_id[link["operationId"]]
                declared = {p["name"] for p in target.get("parameters", [])}
                assert set(link["parameters"]) <= declared, (name, link)
    assert sources >= 15


def test_the_compose_nginx_answers_a_long_request_line_as_the_local_one_does() -> None:
    from pathlib import Path

    deploy = Path(__file__).resolve().parents[3] / "deploy"

    def block(name: str) -> list[str]:
        lines = [line.strip() for line in (deploy / name).read_text().splitlines()]
        start = lines.index("error_page 414 /errors/414.json;")
        return lines[start : start + 6]

    assert block("nginx.compose.conf") == block("nginx.conf.template")
    assert "limit_request_line = 8190" in (deploy / "gunicorn.conf.py").read_text()
