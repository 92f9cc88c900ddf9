"""A URLconf for the convention tests: a fresh v1 API with a few test-only operations.

Used with ``@pytest.mark.urls("v1_test_site")`` so no test endpoint ever reaches production URLs.
"""

from __future__ import annotations

from typing import Any

from django.db import OperationalError
from django.http import Http404, HttpRequest
from django.urls import include, path
from ninja import Form, Query, Router, Schema

from instaclone.api.auth import OptionalTokenAuth, TokenAuth, resolve_user_id
from instaclone.api.envelope import Envelope, PagedEnvelope, envelope, error_responses
from instaclone.api.errors import (
    APIError,
    APIInvalidParametersError,
    APINotAllowedError,
    APINotFoundError,
    OAuthAccessTokenException,
    OAuthParameterException,
    OAuthPermissionsException,
    OAuthRateLimitException,
)
from instaclone.api.pagination import CursorNames, PageQuery, TagPageQuery, page_query, paginate
from instaclone.api.site import create_api

ERRORS: dict[str, APIError] = {
    "base": APIError(418, "APITeapotError", "short and stout"),
    "not-found": APINotFoundError("no such thing"),
    "not-allowed": APINotAllowedError("not yours"),
    "invalid": APIInvalidParametersError("bad count"),
    "oauth-parameter": OAuthParameterException("no token"),
    "oauth-token": OAuthAccessTokenException("bad token"),
    "oauth-permissions": OAuthPermissionsException("no scope"),
    "rate-limit": OAuthRateLimitException("slow down", retry_after=42),
}

LikePageQuery = page_query(
    names=CursorNames(max_param="max_like_id", min_param="min_like_id", next_key="next_like_id"),
    model_name="LikePageQuery",
)

# A list to page through: IDs 1..50, newest (largest) first.
ROWS = [{"id": str(n)} for n in range(50, 0, -1)]


class Thing(Schema):
    id: str
    name: str


class Item(Schema):
    id: str


class Who(Schema):
    id: str | None
    username: str | None


class Note(Schema):
    text: str
    stars: int


router = Router()


@router.get("/things/{thing_id}", response={200: Envelope[Thing], **error_responses(404)})
def thing_detail(request: HttpRequest, thing_id: int) -> dict[str, Any]:
    """Return one thing, or 404 for thing 0."""
    if thing_id == 0:
        raise Http404("no thing zero")
    return envelope({"id": str(thing_id), "name": f"thing {thing_id}"})


@router.get("/things", response={200: PagedEnvelope[Item], **error_responses()})
def thing_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    """Page through ROWS."""
    params = page.params()
    rows = [r for r in ROWS if params.max_id is None or int(r["id"]) < params.max_id]
    rows = [r for r in rows if params.min_id is None or int(r["id"]) > params.min_id]
    shown, pagination = paginate(request, rows[: params.count + 1], params)
    return envelope(shown, pagination)


@router.get("/tagged", response={200: PagedEnvelope[Item], **error_responses()})
def tagged_list(request: HttpRequest, page: Query[TagPageQuery]) -> dict[str, Any]:
    """Page through ROWS with the tag cursor names."""
    params = page.params()
    rows = [r for r in ROWS if params.max_id is None or int(r["id"]) < params.max_id]
    shown, pagination = paginate(request, rows[: params.count + 1], params)
    return envelope(shown, pagination)


@router.get("/liked", response={200: PagedEnvelope[Item], **error_responses()})
def liked_list(request: HttpRequest, page: Query[LikePageQuery]) -> dict[str, Any]:  # type: ignore[valid-type]
    """Page through ROWS with cursor names made by page_query()."""
    params = page.params()  # type: ignore[attr-defined]
    rows = [r for r in ROWS if params.max_id is None or int(r["id"]) < params.max_id]
    shown, pagination = paginate(request, rows[: params.count + 1], params)
    return envelope(shown, pagination)


@router.get("/errors/{name}", response={200: Envelope[Thing], **error_responses(404)})
def raise_error(request: HttpRequest, name: str) -> dict[str, Any]:
    """Raise the named error."""
    raise ERRORS[name]


@router.get("/crash", response={200: Envelope[Thing], **error_responses()})
def crash(request: HttpRequest) -> dict[str, Any]:
    """Fail the way a bug does."""
    raise RuntimeError("database password is hunter2")


@router.get("/database-down", response={200: Envelope[Thing], **error_responses()})
def database_down(request: HttpRequest) -> dict[str, Any]:
    """Fail the way a dead database server does."""
    raise OperationalError("could not connect to server: Connection refused")


@router.post("/notes", response={200: Envelope[Note], **error_responses()})
def note_create(request: HttpRequest, note: Form[Note]) -> dict[str, Any]:
    """Echo a form-encoded note."""
    return envelope(note.dict())


@router.post("/json-notes", response={200: Envelope[Note], **error_responses()})
def json_note_create(request: HttpRequest, note: Note) -> dict[str, Any]:
    """Echo a JSON note."""
    return envelope(note.dict())


@router.get(
    "/users/{user_id}/whoami",
    response={200: Envelope[Who], **error_responses(404)},
    auth=TokenAuth(),
)
def whoami(request: HttpRequest, user_id: str) -> dict[str, Any]:
    """Return the token's user and the user ID the path means."""
    target = resolve_user_id(request, user_id)
    return envelope({"id": str(target), "username": request.auth.username})


@router.post(
    "/likes", response={200: Envelope[Who], **error_responses()}, auth=TokenAuth(("likes",))
)
def like(request: HttpRequest) -> dict[str, Any]:
    """Need the likes scope."""
    return envelope({"id": str(request.auth.id), "username": request.auth.username})


@router.get("/public", response={200: Envelope[Who], **error_responses()}, auth=OptionalTokenAuth())
def public(request: HttpRequest) -> dict[str, Any]:
    """Serve anyone; say who asked."""
    user = request.auth
    if not user.is_authenticated:
        return envelope({"id": None, "username": None})
    return envelope({"id": str(user.id), "username": user.username})


api = create_api(urls_namespace="v1")
api.add_router("/", router)

urlpatterns = [
    path("v1/", api.urls),
    path("oauth/", include("accounts.oauth.urls")),
]
