"""v1 media endpoints: upload, one photo, likes, comments, delete; a user's and liked photos."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Query, Router, Schema
from ninja.files import UploadedFile
from pydantic import Field

from accounts.selectors.users import active_user, user_short, users_by_id
from instaclone.api.auth import OptionalTokenAuth, TokenAuth, resolve_user_id
from instaclone.api.envelope import (
    Envelope,
    PagedEnvelope,
    envelope,
    envelope_response,
    error_responses,
)
from instaclone.api.errors import (
    APIInvalidParametersError,
    APINotAllowedError,
    APINotFoundError,
)
from instaclone.api.pagination import PageQuery, paginate
from instaclone.api.params import parse_id
from photos.selectors import media as media_reads
from photos.selectors.hydration import Audience, media_fragments, media_objects
from photos.services import comments as comment_writes
from photos.services import likes as like_writes
from photos.services.upload import KeyReused, Location, UploadInvalid, photo_create
from photos.shortcodes import photo_id_from
from photos.text import TextInvalid

media_router = Router(tags=["media"])
user_media_router = Router(tags=["media"])

UPLOAD_MAX_BYTES = 25 * 1024 * 1024


class Media(Schema):
    """v1's media object (nested objects kept loose: they follow API-V1.md)."""

    id: str
    type: str
    user: dict[str, Any]
    images: dict[str, Any]
    created_time: str
    caption: dict[str, Any] | None
    likes: dict[str, Any]
    comments: dict[str, Any]
    user_has_liked: bool
    tags: list[str]
    filter: str
    link: str
    location: dict[str, Any] | None
    users_in_photo: list[Any]


class CommentOut(Schema):
    id: str
    text: str
    created_time: str
    from_: dict[str, Any] | None = Field(None, alias="from")


class UploadForm(Schema):
    caption: str = Field("", max_length=2200)
    filter: str = Field("Normal", max_length=40)
    crop_x: int | None = Field(None, ge=0)
    crop_y: int | None = Field(None, ge=0)
    crop_size: int | None = Field(None, ge=1)
    location_name: str = Field("", max_length=200)
    latitude: float | None = None
    longitude: float | None = None


class CommentForm(Schema):
    text: str = Field(..., min_length=1, max_length=2200)


def _viewer(request: HttpRequest) -> int | None:
    user = request.auth  # type: ignore[attr-defined]
    return user.id if user.is_authenticated else None


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _visible(request: HttpRequest, photo_id: int) -> tuple[Any, Any]:
    try:
        return media_reads.visible_photo(photo_id=photo_id, viewer_id=_viewer(request))
    except media_reads.MediaHidden as exc:
        raise APINotFoundError(str(exc)) from exc
    except media_reads.MediaNotAllowed as exc:
        raise APINotAllowedError(str(exc)) from exc


def _media(request: HttpRequest, photo_id: int, owner_id: int | None = None) -> dict[str, Any]:
    """Return one photo's media object; ``owner_id`` skips the access check (one's own)."""
    if owner_id is None:
        photo, owner = _visible(request, photo_id)
        owner_id = owner.id
    found = media_objects(
        [(photo_id, owner_id)],
        viewer_id=_viewer(request),
        base_url=_base_url(request),
        audience=Audience.CHECKED,
    )
    if not found:
        raise APINotFoundError("this photo does not exist")  # deleted a moment ago
    return found[0]


def _media_id(raw: str) -> int:
    return parse_id(raw, name="media_id", media_form=True)


@media_router.post(
    "/upload",
    auth=TokenAuth(scopes=("publish",)),
    response={200: Envelope[Media], **error_responses(413)},
    summary="Post a photo (multipart: photo, caption, filter, crop, location)",
)
def media_upload(
    request: HttpRequest, photo: File[UploadedFile], form: Form[UploadForm]
) -> dict[str, Any]:
    if photo.size is not None and photo.size > UPLOAD_MAX_BYTES:
        raise APIInvalidParametersError(
            f"The photo is larger than {UPLOAD_MAX_BYTES // (1024 * 1024)} MB."
        )
    crop = None
    if form.crop_size is None and (form.crop_x is not None or form.crop_y is not None):
        raise APIInvalidParametersError("a crop needs crop_size besides crop_x and crop_y")
    if form.crop_size is not None:
        crop = (
            form.crop_x or 0,
            form.crop_y or 0,
            (form.crop_x or 0) + form.crop_size,
            (form.crop_y or 0) + form.crop_size,
        )
    location = None
    if form.location_name or form.latitude is not None or form.longitude is not None:
        location = Location(form.location_name, form.latitude, form.longitude)
    key = request.headers.get("Idempotency-Key")
    try:
        posted = photo_create(
            user_id=request.auth.id,  # type: ignore[attr-defined]
            data=photo.read(UPLOAD_MAX_BYTES + 1),
            caption=form.caption,
            filter_name=form.filter,
            crop=crop,
            location=location,
            idempotency_key=key,
        )
    except KeyReused as exc:
        raise APIInvalidParametersError(exc.message) from exc
    except UploadInvalid as exc:
        raise APIInvalidParametersError(exc.message) from exc
    return envelope(_media(request, posted.photo_id, request.auth.id))  # type: ignore[attr-defined]


@media_router.get(
    "/shortcode/{code}",
    auth=OptionalTokenAuth(),
    response={200: Envelope[Media], **error_responses(404)},
    summary="One photo by the code in its permalink",
)
def media_by_shortcode(request: HttpRequest, code: str) -> dict[str, Any]:
    photo_id = photo_id_from(code)
    if photo_id is None:
        raise APINotFoundError("this photo does not exist")
    return envelope(_media(request, photo_id))


@media_router.get(
    "/{media_id}",
    auth=OptionalTokenAuth(),
    response={200: Envelope[Media], **error_responses(404)},
    summary="One photo",
)
def media_detail(request: HttpRequest, media_id: str) -> dict[str, Any]:
    return envelope(_media(request, _media_id(media_id)))


@media_router.delete(
    "/{media_id}",
    auth=TokenAuth(scopes=("publish",)),
    response={200: Envelope[None], **error_responses(404)},
    summary="Delete one's own photo",
)
def media_delete(request: HttpRequest, media_id: str) -> dict[str, Any]:
    photo, _ = _visible(request, _media_id(media_id))
    try:
        comment_writes.photo_delete(user_id=request.auth.id, photo_id=photo.id)  # type: ignore[attr-defined]
    except comment_writes.CommentNotAllowed as exc:
        raise APINotAllowedError(str(exc)) from exc
    except like_writes.PhotoNotFound as exc:
        raise APINotFoundError(str(exc)) from exc
    return envelope(None)


@media_router.get(
    "/{media_id}/likes",
    auth=OptionalTokenAuth(),
    response={200: Envelope[list[dict[str, Any]]], **error_responses(404)},
    summary="Who liked a photo",
)
def media_likers(request: HttpRequest, media_id: str) -> dict[str, Any]:
    photo, _ = _visible(request, _media_id(media_id))
    likers = media_reads.likers_page(photo_id=photo.id, count=120, viewer_id=_viewer(request))
    people = users_by_id(likers)
    return envelope([user_short(people[u]) for u in likers if u in people])


def _like_action(request: HttpRequest, media_id: str, *, liked: bool) -> dict[str, Any]:
    photo, _ = _visible(request, _media_id(media_id))
    action = like_writes.like if liked else like_writes.unlike
    try:
        action(user_id=request.auth.id, photo_id=photo.id)  # type: ignore[attr-defined]
    except like_writes.PhotoNotFound as exc:
        raise APINotFoundError(str(exc)) from exc
    return envelope(None)


@media_router.post(
    "/{media_id}/likes",
    auth=TokenAuth(scopes=("likes",)),
    response={200: Envelope[None], **error_responses(404)},
    summary="Like a photo",
)
def media_like(request: HttpRequest, media_id: str) -> dict[str, Any]:
    return _like_action(request, media_id, liked=True)


@media_router.delete(
    "/{media_id}/likes",
    auth=TokenAuth(scopes=("likes",)),
    response={200: Envelope[None], **error_responses(404)},
    summary="Take a like back",
)
def media_unlike(request: HttpRequest, media_id: str) -> dict[str, Any]:
    return _like_action(request, media_id, liked=False)


@media_router.get(
    "/{media_id}/comments",
    auth=OptionalTokenAuth(),
    response={200: PagedEnvelope[CommentOut], **error_responses(404)},
    by_alias=True,
    summary="Comments on a photo, newest first",
)
def media_comments(request: HttpRequest, media_id: str, page: Query[PageQuery]) -> dict[str, Any]:
    photo, _ = _visible(request, _media_id(media_id))
    params = page.params()
    rows = media_reads.comments_page(
        photo_id=photo.id, count=params.count + 1, max_id=params.max_id
    )
    shown, pagination = paginate(request, rows, params)
    people = users_by_id(c.user_id for c in shown)
    data = [media_reads.comment_object(c, people.get(c.user_id)) for c in shown]
    return envelope(data, pagination)


@media_router.post(
    "/{media_id}/comments",
    auth=TokenAuth(scopes=("comments",)),
    response={200: Envelope[CommentOut], **error_responses(404)},
    by_alias=True,
    summary="Comment on a photo",
)
def media_comment(request: HttpRequest, media_id: str, form: Form[CommentForm]) -> dict[str, Any]:
    photo, _ = _visible(request, _media_id(media_id))
    try:
        comment = comment_writes.comment_create(
            user_id=request.auth.id,
            photo_id=photo.id,
            text=form.text,  # type: ignore[attr-defined]
        )
    except TextInvalid as exc:
        raise APIInvalidParametersError(str(exc)) from exc
    except like_writes.PhotoNotFound as exc:
        raise APINotFoundError(str(exc)) from exc
    return envelope(media_reads.comment_object(comment, request.auth))  # type: ignore[attr-defined]


@media_router.delete(
    "/{media_id}/comments/{comment_id}",
    auth=TokenAuth(scopes=("comments",)),
    response={200: Envelope[None], **error_responses(404)},
    summary="Delete a comment (its author or the photo's owner)",
)
def media_comment_delete(request: HttpRequest, media_id: str, comment_id: str) -> dict[str, Any]:
    photo, _ = _visible(request, _media_id(media_id))
    try:
        comment_writes.comment_delete(
            user_id=request.auth.id,  # type: ignore[attr-defined]
            photo_id=photo.id,
            comment_id=parse_id(comment_id, name="comment_id"),
        )
    except comment_writes.CommentNotFound as exc:
        raise APINotFoundError(str(exc)) from exc
    except comment_writes.CommentNotAllowed as exc:
        raise APINotAllowedError(str(exc)) from exc
    return envelope(None)


@user_media_router.get(
    "/self/media/liked",
    auth=TokenAuth(),
    response={200: PagedEnvelope[Media], **error_responses()},
    summary="Photos the token's user liked, newest like first",
)
def media_liked(request: HttpRequest, page: Query[PageQuery]) -> HttpResponse:
    params = page.params()
    viewer = request.auth.id  # type: ignore[attr-defined]
    rows = media_reads.liked_page(user_id=viewer, count=params.count + 1, max_id=params.max_id)
    shown, pagination = paginate(request, rows, params, cursor=lambda row: row[0])
    # Photos deleted since, or whose owner went private or blocked the viewer, drop out.
    data = media_fragments(
        [(photo_id, owner_id) for _, photo_id, owner_id in shown],
        viewer_id=viewer,
        base_url=_base_url(request),
        audience=Audience.VISIBLE,
    )
    return envelope_response(data, pagination)


@user_media_router.get(
    "/{user_id}/media/recent",
    auth=OptionalTokenAuth(),
    response={200: PagedEnvelope[Media], **error_responses(404)},
    summary="A user's photos, newest first",
)
def media_recent(request: HttpRequest, user_id: str, page: Query[PageQuery]) -> HttpResponse:
    from accounts.selectors.graph import access

    owner = active_user(resolve_user_id(request, user_id))
    if owner is None:
        raise APINotFoundError("this user does not exist")
    seen = access(viewer_id=_viewer(request), owner_id=owner.id, owner_is_private=owner.is_private)
    if not seen.profile:
        raise APINotFoundError("this user does not exist")
    if not seen.content:
        raise APINotAllowedError("you cannot view this resource")
    params = page.params()
    photos = media_reads.user_photos_page(
        owner_id=owner.id, count=params.count + 1, max_id=params.max_id, min_id=params.min_id
    )
    shown, pagination = paginate(request, photos, params)
    data = media_fragments(
        [(photo.id, owner.id) for photo in shown],
        viewer_id=_viewer(request),
        base_url=_base_url(request),
        audience=Audience.CHECKED,
    )
    return envelope_response(data, pagination)
