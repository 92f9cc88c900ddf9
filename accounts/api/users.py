"""v1 user endpoints: users, search, follows, followed-by, requested-by, relationship."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Form, Query, Router, Schema
from pydantic import Field

from accounts.models import User
from accounts.models.graph import EdgeStatus
from accounts.selectors.graph import access, counts_for, followers_page, follows_page, relationship
from accounts.selectors.users import active_user, user_full, user_search, user_short, users_by_id
from accounts.services.graph import ACTIONS, ActionNotAllowed, UserNotFound, relationship_act
from instaclone.api.auth import OptionalTokenAuth, TokenAuth, resolve_user_id
from instaclone.api.envelope import Envelope, PagedEnvelope, envelope, error_responses
from instaclone.api.errors import (
    APIInvalidParametersError,
    APINotAllowedError,
    APINotFoundError,
)
from instaclone.api.pagination import PageQuery, paginate
from instaclone.api.params import NO_NUL

router = Router(tags=["users"])


class Counts(Schema):
    media: int
    follows: int
    followed_by: int


class UserShort(Schema):
    id: str
    username: str
    full_name: str
    profile_picture: str


class UserFull(UserShort):
    bio: str
    website: str
    counts: Counts | None = None


class RelationshipOut(Schema):
    outgoing_status: str = Field(..., examples=["follows"])
    incoming_status: str = Field(..., examples=["none"])
    target_user_is_private: bool


class SearchQuery(Schema):
    q: str = Field(
        ...,
        min_length=1,
        max_length=100,
        pattern=NO_NUL,
        description="Prefix of a username or name",
    )
    count: int = Field(20, ge=1, le=50)


class RelationshipForm(Schema):
    action: str = Field(..., description=f"One of: {', '.join(ACTIONS)}")


def _viewer_id(request: HttpRequest) -> int | None:
    user = request.auth  # type: ignore[attr-defined]
    return user.id if user.is_authenticated else None


def _visible_user(request: HttpRequest, raw_id: str) -> tuple[User, Any]:
    """Return the user a path names and the viewer's access; 404 when absent or hidden."""
    owner = active_user(resolve_user_id(request, raw_id))
    if owner is None:
        raise APINotFoundError("this user does not exist")
    seen = access(
        viewer_id=_viewer_id(request), owner_id=owner.id, owner_is_private=owner.is_private
    )
    if not seen.profile:
        raise APINotFoundError("this user does not exist")
    return owner, seen


def _content_owner(request: HttpRequest, raw_id: str) -> User:
    owner, seen = _visible_user(request, raw_id)
    if not seen.content:
        raise APINotAllowedError("you cannot view this resource")
    return owner


@router.get(
    "/search",
    auth=OptionalTokenAuth(),
    response={200: Envelope[list[UserShort]], **error_responses()},
    summary="Search users by the start of their username or full name",
)
def users_search(request: HttpRequest, query: Query[SearchQuery]) -> dict[str, Any]:
    found = user_search(query=query.q, count=query.count, viewer_id=_viewer_id(request))
    return envelope([user_short(user) for user in found])


@router.get(
    "/self/requested-by",
    auth=TokenAuth(),
    response={200: PagedEnvelope[UserShort], **error_responses()},
    summary="Pending follow requests to the token's user",
)
def users_requested_by(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    params = page.params()
    edges = followers_page(
        user_id=request.auth.id,  # type: ignore[attr-defined]
        count=params.count + 1,
        max_id=params.max_id,
        min_id=params.min_id,
        status=EdgeStatus.REQUESTED,
        viewer_id=request.auth.id,  # type: ignore[attr-defined]
    )
    return _edge_page(request, edges, params)


@router.get(
    "/{user_id}",
    auth=OptionalTokenAuth(),
    response={200: Envelope[UserFull], **error_responses(404)},
    summary="A user (self for the token's user)",
)
def users_detail(request: HttpRequest, user_id: str) -> dict[str, Any]:
    owner, _ = _visible_user(request, user_id)
    return envelope(user_full(owner, counts_for([owner.id])[owner.id]))


def _edge_page(request: HttpRequest, edges: list[tuple[int, int]], params: Any) -> dict[str, Any]:
    shown, pagination = paginate(request, edges, params, cursor=lambda edge: edge[0])
    users = users_by_id(other for _, other in shown)
    data = [user_short(users[other]) for _, other in shown if other in users]
    return envelope(data, pagination)


@router.get(
    "/{user_id}/follows",
    auth=OptionalTokenAuth(),
    response={200: PagedEnvelope[UserShort], **error_responses(404)},
    summary="Who the user follows, newest first",
)
def users_follows(request: HttpRequest, user_id: str, page: Query[PageQuery]) -> dict[str, Any]:
    owner = _content_owner(request, user_id)
    params = page.params()
    edges = follows_page(
        user_id=owner.id,
        count=params.count + 1,
        max_id=params.max_id,
        min_id=params.min_id,
        viewer_id=_viewer_id(request),
    )
    return _edge_page(request, edges, params)


@router.get(
    "/{user_id}/followed-by",
    auth=OptionalTokenAuth(),
    response={200: PagedEnvelope[UserShort], **error_responses(404)},
    summary="The user's followers, newest first",
)
def users_followed_by(request: HttpRequest, user_id: str, page: Query[PageQuery]) -> dict[str, Any]:
    owner = _content_owner(request, user_id)
    params = page.params()
    edges = followers_page(
        user_id=owner.id,
        count=params.count + 1,
        max_id=params.max_id,
        min_id=params.min_id,
        viewer_id=_viewer_id(request),
    )
    return _edge_page(request, edges, params)


def _relationship(viewer_id: int, target: User) -> dict[str, Any]:
    seen = relationship(
        viewer_id=viewer_id, target_id=target.id, target_is_private=target.is_private
    )
    if seen.blocked_by_target:
        raise APINotFoundError("this user does not exist")
    return {
        "outgoing_status": seen.outgoing_status,
        "incoming_status": seen.incoming_status,
        "target_user_is_private": seen.target_user_is_private,
    }


def _target(request: HttpRequest, raw_id: str) -> User:
    target_id = resolve_user_id(request, raw_id)
    if target_id == request.auth.id:  # type: ignore[attr-defined]
        raise APIInvalidParametersError("a relationship needs another user, not yourself")
    target = active_user(target_id)
    if target is None:
        raise APINotFoundError("this user does not exist")
    return target


@router.get(
    "/{user_id}/relationship",
    auth=TokenAuth(),
    response={200: Envelope[RelationshipOut], **error_responses(404)},
    summary="How the token's user and another user stand",
)
def users_relationship(request: HttpRequest, user_id: str) -> dict[str, Any]:
    target = _target(request, user_id)
    return envelope(_relationship(request.auth.id, target))  # type: ignore[attr-defined]


@router.post(
    "/{user_id}/relationship",
    auth=TokenAuth(scopes=("relationships",)),
    response={200: Envelope[RelationshipOut], **error_responses(404)},
    summary="Follow, unfollow, block, unblock, approve or ignore a user",
)
def users_relationship_act(
    request: HttpRequest, user_id: str, form: Form[RelationshipForm]
) -> dict[str, Any]:
    if form.action not in ACTIONS:
        raise APIInvalidParametersError(f"action must be one of: {', '.join(ACTIONS)}")
    target = _target(request, user_id)
    viewer_id: int = request.auth.id  # type: ignore[attr-defined]
    try:
        relationship_act(actor_id=viewer_id, target_id=target.id, action=form.action)
    except UserNotFound as exc:
        raise APINotFoundError(str(exc)) from exc
    except ActionNotAllowed as exc:
        raise APINotAllowedError(str(exc)) from exc
    return envelope(_relationship(viewer_id, target))
