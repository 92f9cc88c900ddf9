"""v1 feed endpoints: the home feed and popular photos."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from feeds.popular import popular_entries
from feeds.selectors import home_feed_entries
from instaclone.api.auth import OptionalTokenAuth, TokenAuth
from instaclone.api.envelope import Envelope, PagedEnvelope, envelope_response, error_responses
from instaclone.api.pagination import PageQuery, next_url
from photos.api.media import Media
from photos.selectors.hydration import Audience, media_fragments

feed_router = Router(tags=["feeds"])
popular_router = Router(tags=["feeds"])

POPULAR_DEFAULT = 32


class PopularQuery(Schema):
    count: int | None = Field(None, ge=1, description="Photos, 1 to 100 (larger are capped).")


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


@feed_router.get(
    "/self/feed",
    auth=TokenAuth(),
    response={200: PagedEnvelope[Media], **error_responses()},
    summary="The home feed: the latest photos of the people the token's user follows",
)
def users_self_feed(request: HttpRequest, page: Query[PageQuery]) -> HttpResponse:
    params = page.params()
    viewer = request.auth.id  # type: ignore[attr-defined]
    entries = home_feed_entries(
        user_id=viewer, count=params.count + 1, max_id=params.max_id, min_id=params.min_id
    )
    shown = entries[: params.count]
    data = media_fragments(
        shown, viewer_id=viewer, base_url=_base_url(request), audience=Audience.FOLLOWED
    )
    pagination: dict[str, str] = {}
    if len(entries) > params.count:
        # The cursor is the last entry read, shown or not, so a run of hidden ones never loops.
        last = str(shown[-1][0])
        pagination = {"next_url": next_url(request, {"max_id": last}), "next_max_id": last}
    return envelope_response(data, pagination)


@popular_router.get(
    "/popular",
    auth=OptionalTokenAuth(),
    response={200: Envelope[list[Media]], **error_responses()},
    summary="Popular photos right now (public accounts, ranked by likes with time decay)",
)
def media_popular(request: HttpRequest, query: Query[PopularQuery]) -> HttpResponse:
    user = request.auth  # type: ignore[attr-defined]
    viewer = user.id if user.is_authenticated else None
    count = min(query.count or POPULAR_DEFAULT, 100)
    data = media_fragments(
        popular_entries()[:count],
        viewer_id=viewer,
        base_url=_base_url(request),
        audience=Audience.VISIBLE,
    )
    return envelope_response(data)
