"""Every write route of the v1 API x every scope set x a first-party and a third-party token.

The routes come from the registered API, so a new write route joins the matrix by itself. A
token without the route's scope gets 400 ``OAuthPermissionsException`` and changes nothing; a
token with it gets past the scope check.
"""

from __future__ import annotations

import io
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, Q
from django.test import Client
from django.utils import timezone
from ninja import Router
from oauth2_provider.models import AccessToken, Application
from PIL import Image

from accounts.models import User
from instaclone.api.auth import OptionalTokenAuth, TokenAuth
from instaclone.api.scopes import ApiOperation, api_operations, write_scope_problems
from instaclone.api.site import api, create_api
from instaclone.sharding.connections import user_shard
from instaclone.sharding.placement import PROJECT_APPS, placement_of
from photos.services.comments import comment_create
from photos.services.upload import photo_create
from tests.worker_queue import jobs_settle

WRITE_ROUTES: list[ApiOperation] = [op for op in api_operations(api) if op.is_write]
SCOPES: list[str] = [name for name in settings.OAUTH2_PROVIDER["SCOPES"] if name != "basic"]
SCOPE_SETS: dict[str, tuple[str, ...]] = {
    "no-extra-scope": (),
    **{name: (name,) for name in SCOPES},
    "all-scopes": tuple(SCOPES),
}
CLIENTS = ("first-party", "third-party")
PERMISSION_ERRORS = {
    "OAuthParameterException",
    "OAuthAccessTokenException",
    "OAuthPermissionsException",
}
# Columns that name a person or a photo: the rows a request about them could change.
PERSON_COLUMNS = ("user_id", "owner_id", "target_id", "follower_id", "blocker_id")


def _jpeg() -> bytes:
    image = Image.new("RGB", (320, 320), (200, 90, 40))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


@dataclass(frozen=True)
class World:
    """The token's user with one photo and one comment on it, and another user."""

    actor: User
    other: User
    photo_id: int
    comment_id: int

    def path_values(self) -> dict[str, int]:
        """Return a value for every path parameter a write route may name."""
        return {
            "media_id": self.photo_id,
            "comment_id": self.comment_id,
            "user_id": self.other.id,
        }


@dataclass(frozen=True)
class Call:
    """What a well-formed request to one route sends, and whether it changes stored rows."""

    form: Callable[[], dict[str, Any]]
    changes: bool


def _photo_form() -> dict[str, Any]:
    upload = io.BytesIO(_jpeg())
    upload.name = "photo.jpg"
    return {"photo": upload, "caption": "scoped"}


# Well-formed bodies for the routes known today; a route missing here is still in the matrix
# (sent an empty body, it must still be refused without its scope and never with a permission
# error when it has it).
CALLS: dict[str, Call] = {
    "POST /media/upload": Call(_photo_form, changes=True),
    "DELETE /media/{media_id}": Call(dict, changes=True),
    "POST /media/{media_id}/likes": Call(dict, changes=True),
    # Nothing to take back in the world: the answer is 200 and no row changes.
    "DELETE /media/{media_id}/likes": Call(dict, changes=False),
    "POST /media/{media_id}/comments": Call(lambda: {"text": "nice light"}, changes=True),
    "DELETE /media/{media_id}/comments/{comment_id}": Call(dict, changes=True),
    "POST /users/{user_id}/relationship": Call(lambda: {"action": "follow"}, changes=True),
}
EXPECTED_SCOPES = {
    "POST /media/upload": {"publish"},
    "DELETE /media/{media_id}": {"publish"},
    "POST /media/{media_id}/likes": {"likes"},
    "DELETE /media/{media_id}/likes": {"likes"},
    "POST /media/{media_id}/comments": {"comments"},
    "DELETE /media/{media_id}/comments/{comment_id}": {"comments"},
    "POST /users/{user_id}/relationship": {"relationships"},
}


def _rows(model: type[Model], people: set[int], photos: set[int]) -> list[str]:
    names = {field.attname for field in model._meta.concrete_fields}
    terms = [Q(**{f"{column}__in": people}) for column in PERSON_COLUMNS if column in names]
    if "photo_id" in names:
        terms.append(Q(photo_id__in=photos))
    if model is User:
        terms = [Q(id__in=people)]
    if not terms:
        return []
    where = terms[0]
    for term in terms[1:]:
        where |= term
    return sorted(repr(sorted(row.items())) for row in model.objects.filter(where).values())


def _state(world: World) -> dict[str, list[str]]:
    """Return every stored row of the project's apps about the two people and their photos."""
    from photos.models import Photo

    people = {world.actor.id, world.other.id}
    photos = {world.photo_id}
    for person in people:
        with user_shard(person):
            photos.update(Photo.objects.filter(user_id=person).values_list("id", flat=True))
    state: dict[str, list[str]] = {}
    for model in apps.get_models():
        if model._meta.app_label not in PROJECT_APPS:
            continue
        if placement_of(model) == "users":
            state[model._meta.label] = _rows(model, people, photos)
            continue
        for person in sorted(people):
            with user_shard(person) as shard:
                key = f"{model._meta.label}@shard {shard.shard}"
                state[key] = _rows(model, people, photos)
    return state


@pytest.fixture
def third_party_app(live_db: None) -> Iterator[Application]:
    """Register a third-party (authorization-code) app; delete it and its tokens after."""
    app = Application.objects.create(
        name=f"matrix-{secrets.token_hex(4)}",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://app.example.com/callback",
    )
    yield app
    app.delete()


@pytest.fixture
def world(live_db: None, forget: Callable[[list[int]], None]) -> Iterator[World]:
    """Build the world on committed rows; delete the people, photos and rows after."""
    made: list[int] = []
    try:
        actor, other = (
            User.objects.create_user(
                username=f"{role}_{uuid.uuid4().hex[:12]}",
                email=f"{uuid.uuid4().hex[:10]}@example.com",
            )
            for role in ("actor", "other")
        )
        made += [actor.id, other.id]
        photo_id = photo_create(user_id=actor.id, data=_jpeg(), caption="before").photo_id
        comment = comment_create(user_id=actor.id, photo_id=photo_id, text="first")
        jobs_settle()  # the photo's map entry is a job: it must not land inside a test's state
        yield World(actor=actor, other=other, photo_id=photo_id, comment_id=comment.id)
    finally:
        forget(made)


def _token(user: User, application: Application, scopes: tuple[str, ...]) -> str:
    raw = secrets.token_urlsafe(24)
    AccessToken.objects.create(
        user=user,
        application=application,
        token=raw,
        scope=" ".join(("basic", *scopes)),
        expires=timezone.now() + timedelta(hours=1),
    )
    return raw


def _send(client: Client, operation: ApiOperation, world: World, token: str) -> Any:
    try:
        path = "/v1" + operation.path.format(**world.path_values())
    except KeyError as missing:
        pytest.fail(f"{operation}: add a value for path parameter {missing} to World")
    call = CALLS.get(str(operation), Call(dict, changes=False))
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if operation.method == "POST":
        return client.post(path, call.form(), **auth)
    return client.generic(operation.method, path, **auth)


def test_write_routes_come_from_the_registered_api() -> None:
    found = {str(op): set(op.required_scopes) for op in WRITE_ROUTES}

    assert len(WRITE_ROUTES) >= len(EXPECTED_SCOPES)
    assert {route: found.get(route) for route in EXPECTED_SCOPES} == EXPECTED_SCOPES
    assert set(SCOPES) == {"publish", "comments", "relationships", "likes"}


def test_every_write_route_names_a_known_scope_beyond_basic() -> None:
    assert write_scope_problems(api, known_scopes=settings.OAUTH2_PROVIDER["SCOPES"]) == []


def test_openapi_document_shows_each_write_route_scope() -> None:
    document = Client().get("/v1/openapi.json").json()

    shown = {
        str(op): document["paths"]["/v1" + op.path][op.method.lower()]["security"]
        for op in WRITE_ROUTES
    }

    assert {route: shown[route] for route in EXPECTED_SCOPES} == {
        route: [{"oauth2": sorted(scopes)}] for route, scopes in EXPECTED_SCOPES.items()
    }
    assert shown == {str(op): [{"oauth2": sorted(op.required_scopes)}] for op in WRITE_ROUTES}


def test_an_api_with_an_unscoped_write_route_refuses_to_build() -> None:
    router = Router()

    @router.post("/open", auth=TokenAuth())
    def open_post(request: Any) -> None: ...

    @router.delete("/anyone", auth=OptionalTokenAuth(scopes=("likes",)))
    def anyone_delete(request: Any) -> None: ...

    @router.put("/typo", auth=TokenAuth(scopes=("publsh",)))
    def typo_put(request: Any) -> None: ...

    @router.get("/read", auth=TokenAuth())
    def read(request: Any) -> None: ...

    strict = create_api(urls_namespace="scope-rule-test", write_scopes_required=True)
    strict.add_router("/things", router)
    hint = (
        "give it auth=TokenAuth(scopes=(...)) with one of comments, likes, publish, relationships"
    )

    with pytest.raises(ImproperlyConfigured) as refused:
        strict.urls  # noqa: B018 - building the URLs is what runs the rule

    assert str(refused.value) == "; ".join(
        [
            f"POST /things/open changes data but requires no scope beyond basic: {hint}",
            f"DELETE /things/anyone changes data but requires no scope beyond basic: {hint}",
            "PUT /things/typo names unknown scope(s): publsh",
        ]
    )


@pytest.mark.parametrize("client_kind", CLIENTS)
@pytest.mark.parametrize("scope_set", list(SCOPE_SETS))
@pytest.mark.parametrize("operation", WRITE_ROUTES, ids=lambda op: f"{op.method}:{op.path}")
def test_scope_matrix(
    operation: ApiOperation,
    scope_set: str,
    client_kind: str,
    world: World,
    third_party_app: Application,
    client: Client,
) -> None:
    granted = SCOPE_SETS[scope_set]
    application = (
        Application.objects.get(client_id=settings.FIRST_PARTY_CLIENT_ID)
        if client_kind == "first-party"
        else third_party_app
    )
    token = _token(world.actor, application, granted)
    # Known routes are held to the scope written here, not to what their auth= says today.
    required = EXPECTED_SCOPES.get(str(operation), operation.required_scopes)
    assert required, f"{operation} changes data but requires no scope beyond basic"
    missing = sorted(required - set(granted))
    before = _state(world)

    response = _send(client, operation, world, token)

    meta = response.json()["meta"]
    if missing:
        assert response.status_code == 400
        assert meta == {
            "code": 400,
            "error_type": "OAuthPermissionsException",
            "error_message": f"This request requires scope={'+'.join(missing)}, but this "
            "access_token is not authorized with that scope.",
        }
        assert _state(world) == before
        return
    assert response.status_code < 500
    assert meta.get("error_type") not in PERMISSION_ERRORS
    call = CALLS.get(str(operation))
    if call is not None:
        assert (response.status_code, meta) == (200, {"code": 200})
        assert (_state(world) != before) is call.changes
