"""OWASP API1, broken object level authorization: another person's IDs open nothing of theirs.

The attacker is a stranger holding a token with every scope. The victim has a photo with a
follower's comment and like, and a pending follow request. Every v1 route whose path names an
object (a user, a photo, a comment, a short code) is sent the victim's IDs; the routes come from
the registered API, so a new ID route fails ``test_every_id_route_is_in_the_matrix`` until its
expected answers are written here. Each refusal is exact and leaves the victim's rows as they were.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from PIL import Image

from accounts.models import User
from accounts.services import graph
from instaclone.api.scopes import ApiOperation, api_operations
from instaclone.api.site import api
from instaclone.sharding.connections import photo_shard
from photos.models import Comment, Like, Photo
from photos.services.comments import comment_create
from photos.services.likes import like
from photos.services.upload import photo_create
from photos.shortcodes import shortcode

ID_ROUTES: list[ApiOperation] = [op for op in api_operations(api) if "{" in op.path]
NOT_ALLOWED = (400, "APINotAllowedError", "you cannot view this resource")
NO_REQUEST = (400, "APINotAllowedError", "there is no pending request from this user")
NOT_OWNER = (400, "APINotAllowedError", "only the photo's owner can delete it")
NOT_AUTHOR = (
    400,
    "APINotAllowedError",
    "only the comment's author or the photo's owner can delete it",
)
NO_COMMENT = (404, "APINotFoundError", "this comment does not exist")
OK = (200, None, None)


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 320), (40, 120, 200)).save(out, "JPEG")
    return out.getvalue()


@dataclass(frozen=True)
class World:
    """The victim (owner), an approved follower, a requester, the attacker and their photos."""

    owner: User
    follower: User
    requester: User
    attacker: User
    photo_id: int
    comment_id: int
    attacker_photo_id: int

    def path_values(self) -> dict[str, str]:
        return {
            "user_id": str(self.owner.id),
            "media_id": str(self.photo_id),
            "comment_id": str(self.comment_id),
            "code": shortcode(self.photo_id),
        }


@dataclass(frozen=True)
class Case:
    """One request of the attacker: the route, what differs from the default call, the answer."""

    label: str
    private: tuple[int, str | None, str | None]
    public: tuple[int, str | None, str | None]
    form: dict[str, str] = field(default_factory=dict)
    # Path values other than the victim's defaults, built from the world.
    path: Callable[[World], dict[str, str]] | None = None


# Expected answers to the attacker, per route: on a private and on a public victim. Allowed
# answers (200) are the attacker acting on their own rows (their like, their follow request).
MATRIX: dict[str, list[Case]] = {
    "GET /users/{user_id}": [Case("profile", OK, OK)],
    "GET /users/{user_id}/follows": [Case("list", NOT_ALLOWED, OK)],
    "GET /users/{user_id}/followed-by": [Case("list", NOT_ALLOWED, OK)],
    "GET /users/{user_id}/relationship": [Case("own relationship", OK, OK)],
    "POST /users/{user_id}/relationship": [
        Case(
            "approve the requester's request",
            NO_REQUEST,
            NO_REQUEST,
            {"action": "approve"},
            lambda w: {"user_id": str(w.requester.id)},
        ),
        Case(
            "ignore the requester's request",
            NO_REQUEST,
            NO_REQUEST,
            {"action": "ignore"},
            lambda w: {"user_id": str(w.requester.id)},
        ),
        Case("approve on the owner", NO_REQUEST, NO_REQUEST, {"action": "approve"}),
        Case("ignore on the owner", NO_REQUEST, NO_REQUEST, {"action": "ignore"}),
    ],
    "GET /users/{user_id}/media/recent": [Case("photos", NOT_ALLOWED, OK)],
    "GET /media/shortcode/{code}": [Case("photo", NOT_ALLOWED, OK)],
    "GET /media/{media_id}": [
        Case("photo", NOT_ALLOWED, OK),
        Case(
            "photo, media form naming the attacker",
            NOT_ALLOWED,
            OK,
            {},
            lambda w: {"media_id": f"{w.photo_id}_{w.attacker.id}"},
        ),
    ],
    "DELETE /media/{media_id}": [
        Case("delete", NOT_ALLOWED, NOT_OWNER),
        Case(
            "delete, media form naming the attacker",
            NOT_ALLOWED,
            NOT_OWNER,
            {},
            lambda w: {"media_id": f"{w.photo_id}_{w.attacker.id}"},
        ),
    ],
    "GET /media/{media_id}/likes": [Case("likers", NOT_ALLOWED, OK)],
    "POST /media/{media_id}/likes": [Case("like", NOT_ALLOWED, OK)],
    "DELETE /media/{media_id}/likes": [Case("unlike", NOT_ALLOWED, OK)],
    "GET /media/{media_id}/comments": [Case("comments", NOT_ALLOWED, OK)],
    "POST /media/{media_id}/comments": [Case("comment", NOT_ALLOWED, OK, {"text": "hello"})],
    "DELETE /media/{media_id}/comments/{comment_id}": [
        Case("the follower's comment", NOT_ALLOWED, NOT_AUTHOR),
        Case(
            "the follower's comment through the attacker's own photo",
            NO_COMMENT,
            NO_COMMENT,
            {},
            lambda w: {"media_id": str(w.attacker_photo_id)},
        ),
    ],
    # Tag names are not objects of one person; tests/photos/test_tags.py covers what they show.
    "GET /tags/{name}": [],
    "GET /tags/{name}/media/recent": [],
}
CASES = [
    (route, case, private)
    for route, cases in MATRIX.items()
    for case in cases
    for private in (True, False)
]


@pytest.fixture
def world(make_user, token_for) -> World:  # type: ignore[no-untyped-def]
    def build(*, private: bool) -> World:
        owner = make_user(name="owner", private=private)
        follower, requester, attacker = (make_user(name=n) for n in ("fan", "req", "atk"))
        graph.follow(follower_id=follower.id, target_id=owner.id)
        if private:
            graph.approve(owner_id=owner.id, requester_id=follower.id)
            graph.follow(follower_id=requester.id, target_id=owner.id)
        photo_id = photo_create(user_id=owner.id, data=_jpeg(), caption="mine").photo_id
        comment = comment_create(user_id=follower.id, photo_id=photo_id, text="lovely")
        like(user_id=follower.id, photo_id=photo_id)
        attacker_photo = photo_create(user_id=attacker.id, data=_jpeg()).photo_id
        return World(owner, follower, requester, attacker, photo_id, comment.id, attacker_photo)

    return build  # type: ignore[return-value]


def _facts(world: World, edges: Callable[[int, int], Any]) -> dict[str, Any]:
    """Return what the victim owns and an attacker must not change."""
    with photo_shard(world.photo_id):
        photo = Photo.objects.filter(id=world.photo_id).values("caption", "user_id").first()
        comment = Comment.objects.filter(id=world.comment_id).values("text", "user_id").first()
        follower_likes = Like.objects.filter(
            photo_id=world.photo_id, user_id=world.follower.id
        ).count()
    owner = User.objects.filter(id=world.owner.id).values("is_private", "username").first()
    return {
        "photo": photo,
        "comment": comment,
        "follower_likes": follower_likes,
        "follower_edge": edges(world.follower.id, world.owner.id),
        "requester_edge": edges(world.requester.id, world.owner.id),
        "owner": owner,
    }


def _send(client: Client, route: str, path: str, token: str, form: dict[str, str]) -> Any:
    method = route.split(" ", 1)[0]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if method == "POST":
        return client.post(path, form, **auth)
    return client.generic(method, path, **auth)


def test_every_id_route_is_in_the_matrix() -> None:
    routes = {str(op) for op in ID_ROUTES}

    assert routes == set(MATRIX), f"routes to classify: {sorted(routes - set(MATRIX))}"


@pytest.mark.parametrize(
    ("route", "case", "private"),
    CASES,
    ids=[f"{r}-{c.label}-{'private' if p else 'public'}" for r, c, p in CASES],
)
def test_a_strangers_token_reaches_nothing_of_the_owners(  # type: ignore[no-untyped-def]
    route: str, case: Case, private: bool, world, token_for, edges
) -> None:
    built = world(private=private)
    values = built.path_values() | (case.path(built) if case.path else {})
    path = "/v1" + route.split(" ", 1)[1].format(**values)
    before = _facts(built, edges)

    answer = _send(Client(), route, path, token_for(built.attacker), case.form)

    status, error_type, message = case.private if private else case.public
    meta = answer.json()["meta"]
    assert answer.status_code == status, (path, answer.content)
    if error_type is None:
        assert meta == {"code": 200}
    else:
        assert meta == {"code": status, "error_type": error_type, "error_message": message}
    assert _facts(built, edges) == before


# --- the same through the web pages ---------------------------------------------------------


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_web_pages_of_a_private_account_show_a_stranger_nothing(world, edges) -> None:  # type: ignore[no-untyped-def]
    built = world(private=True)
    attacker = _signed_in(built.attacker)
    code = shortcode(built.photo_id)
    before = _facts(built, edges)

    assert attacker.get(f"/p/{code}/").status_code == 404
    for action in ({"action": "like"}, {"action": "unlike"}, {"action": "comment", "text": "hi"}):
        assert attacker.post(f"/p/{code}/act/", action).status_code == 404
    for page in ("followers", "following"):
        assert attacker.get(f"/{built.owner.username}/{page}/").status_code == 403
    profile = attacker.get(f"/{built.owner.username}/")
    assert profile.status_code == 200
    assert f"/p/{code}/" not in profile.content.decode()
    assert _facts(built, edges) == before


def test_web_relationship_form_answers_no_one_elses_requests(world, edges) -> None:  # type: ignore[no-untyped-def]
    built = world(private=True)
    attacker = _signed_in(built.attacker)
    before = _facts(built, edges)

    for target in (built.requester.id, built.owner.id):
        for action in ("approve", "ignore"):
            answer = attacker.post(f"/accounts/relationship/{target}/", {"action": action})
            assert answer.status_code == 302

    assert _facts(built, edges) == before
    assert edges(built.requester.id, built.owner.id) == ("requested", "requested")
