"""v1 tag endpoints: a tag, its recent photos, and tag search."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from instaclone.api.auth import OptionalTokenAuth
from instaclone.api.envelope import (
    Envelope,
    PagedEnvelope,
    envelope,
    envelope_response,
    error_responses,
)
from instaclone.api.errors import APIInvalidParametersError, APINotFoundError
from instaclone.api.pagination import TagPageQuery, next_url
from instaclone.api.params import NO_NUL
from photos.api.media import Media
from photos.selectors.tags import tag_get, tag_photos_page, tag_search
from photos.text import TAG_NAME

router = Router(tags=["tags"])


class TagOut(Schema):
    name: str
    media_count: int


class TagSearchQuery(Schema):
    q: str = Field(..., min_length=1, max_length=100, pattern=NO_NUL)
    count: int = Field(20, ge=1, le=50)


def _name(raw: str) -> str:
    name = raw.lstrip("#").lower()
    if not TAG_NAME.match(name):
        raise APIInvalidParametersError("a tag name is 1 to 100 letters, digits or underscores")
    return name


def _viewer(request: HttpRequest) -> int | None:
    user = request.auth  # type: ignore[attr-defined]
    return user.id if user.is_authenticated else None


@router.get(
    "/search",
    auth=OptionalTokenAuth(),
    response={200: Envelope[list[TagOut]], **error_responses()},
    summary="Tags starting with q, most used first",
)
def tags_search(request: HttpRequest, query: Query[TagSearchQuery]) -> dict[str, Any]:
    found = tag_search(query=query.q, count=query.count)
    return envelope([{"name": t.name, "media_count": t.media_count} for t in found])


@router.get(
    "/{name}",
    auth=OptionalTokenAuth(),
    response={200: Envelope[TagOut], **error_responses(404)},
    summary="A tag and how many photos carry it",
)
def tags_detail(request: HttpRequest, name: str) -> dict[str, Any]:
    tag = tag_get(_name(name))
    # Counted are the photos a stranger may see; a tag only private photos carry stays unknown.
    if tag is None or tag.media_count <= 0:
        raise APINotFoundError("no photo carries this tag")
    return envelope({"name": tag.name, "media_count": tag.media_count})


@router.get(
    "/{name}/media/recent",
    auth=OptionalTokenAuth(),
    response={200: PagedEnvelope[Media], **error_responses(404)},
    summary="A tag's recent photos that the caller may see",
)
def tags_media(request: HttpRequest, name: str, page: Query[TagPageQuery]) -> HttpResponse:
    params = page.params()
    viewer = _viewer(request)
    data, cursor = tag_photos_page(
        name=_name(name),
        viewer_id=viewer,
        count=params.count,
        max_id=params.max_id,
        base_url=request.build_absolute_uri("/").rstrip("/"),
    )
    pagination: dict[str, str] = {}
    # A page cut short by hidden rows still carries the cursor: the rest of the tag follows.
    if cursor is not None:
        pagination = {
            "next_url": next_url(request, {"max_tag_id": str(cursor)}),
            "next_max_tag_id": str(cursor),
        }
    return envelope_response(data, pagination)
