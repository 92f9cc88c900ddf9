"""OWASP API3, broken object property level authorization: no field too many, none assignable.

Every GET route of the registered v1 API is read as a stranger, a follower and the owner; no
answer names an account's email, password, staff flags, log-in times or a photo's storage key,
and none holds the owner's email or password hash anywhere. Private photos come only as
short-lived signed URLs; the bare object and the bucket refuse anonymous readers. Forms and
uploads ignore fields they do not offer (staff flags, another account's name, another owner).
"""

from __future__ import annotations

import http.client
import io
import json
import re
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from PIL import Image

from accounts.models import User
from accounts.services import graph
from instaclone.api.scopes import api_operations
from instaclone.api.site import api
from instaclone.sharding.connections import photo_shard, user_shard
from photos.models import Comment, Photo
from photos.services.comments import comment_create
from photos.services.likes import like
from photos.services.upload import photo_create
from photos.shortcodes import shortcode

GET_ROUTES = [op for op in api_operations(api) if op.method == "GET"]
# Keys no v1 object may carry, at any depth.
FORBIDDEN_KEYS = {
    "email",
    "password",
    "is_staff",
    "is_superuser",
    "is_active",
    "last_login",
    "date_joined",
    "media_key",
    "access_token",
    "token",
}
URL = re.compile(r'"(https?://[^"]+)"')
# Query parameters a route needs besides its path values.
QUERIES = {"GET /users/search": {"q": "sec"}, "GET /tags/search": {"q": "sec"}}


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 320), (90, 160, 30)).save(out, "JPEG")
    return out.getvalue()


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def _owner(make_user, *, private: bool) -> User:  # type: ignore[no-untyped-def]
    owner = make_user(name="sec", private=private)
    owner.is_staff = True
    owner.last_login = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    owner.save(update_fields=["is_staff", "last_login"])
    return owner


@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
def test_no_v1_answer_carries_a_private_field(make_user, token_for, private: bool) -> None:  # type: ignore[no-untyped-def]
    owner = _owner(make_user, private=private)
    fan, stranger = make_user(name="secfan"), make_user(name="secstranger")
    graph.follow(follower_id=fan.id, target_id=owner.id)
    if private:
        graph.approve(owner_id=owner.id, requester_id=fan.id)
    photo_id = photo_create(user_id=owner.id, data=_jpeg(), caption="#secprops").photo_id
    comment_create(user_id=fan.id, photo_id=photo_id, text="nice")
    like(user_id=fan.id, photo_id=photo_id)
    with user_shard(owner.id):
        media_key = Photo.objects.get(id=photo_id).media_key
    values = {
        "user_id": str(owner.id),
        "media_id": str(photo_id),
        "code": shortcode(photo_id),
        "name": "secprops",
    }
    secrets_of_owner = [owner.email, owner.password]
    answered: dict[str, int] = {}
    for viewer in (owner, fan, stranger, None):
        auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(viewer)}"} if viewer else {}
        for op in GET_ROUTES:
            path = "/v1" + op.path.format(**values)
            answer = Client().get(path, QUERIES.get(str(op), {}), **auth)
            if answer.status_code == 200:
                answered[str(op)] = answered.get(str(op), 0) + 1
            body = answer.content.decode()
            assert _keys(json.loads(body)) & FORBIDDEN_KEYS == set(), (path, body)
            for secret in secrets_of_owner:
                assert secret not in body, (path, secret)
            # The storage key shows only inside signed URLs, never bare.
            urls = [u for u in URL.findall(body) if media_key in u]
            assert body.count(media_key) == len(urls), (path, body)
            assert all("X-Amz-Signature=" in u for u in urls), (path, urls)
    # Every route answered someone: the checks above read real objects, not only refusals.
    # A tag that only a private account's photos carry is unknown to all (see test_tags.py).
    unknown_tag = {"GET /tags/{name}"} if private else set()
    assert set(answered) == {str(op) for op in GET_ROUTES} - unknown_tag


def test_answers_to_writes_carry_no_private_field(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    owner, fan = _owner(make_user, private=False), make_user(name="secfan")
    photo_id = photo_create(user_id=owner.id, data=_jpeg()).photo_id
    token = token_for(fan)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    upload = io.BytesIO(_jpeg())
    upload.name = "p.jpg"
    answers = [
        Client().post(f"/v1/media/{photo_id}/comments", {"text": "hi"}, **auth),
        Client().post(f"/v1/users/{owner.id}/relationship", {"action": "follow"}, **auth),
        Client().post("/v1/media/upload", {"photo": upload}, **auth),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.content
        assert _keys(answer.json()) & FORBIDDEN_KEYS == set()
        assert fan.email not in answer.content.decode()


def test_web_pages_never_show_an_email_or_password_hash(make_user) -> None:  # type: ignore[no-untyped-def]
    owner, fan = _owner(make_user, private=False), make_user(name="secfan")
    graph.follow(follower_id=fan.id, target_id=owner.id)
    photo_id = photo_create(user_id=owner.id, data=_jpeg(), caption="#secprops").photo_id
    comment_create(user_id=fan.id, photo_id=photo_id, text="nice")
    viewer = Client()
    viewer.force_login(fan)
    pages = [
        f"/{owner.username}/",
        f"/{owner.username}/followers/",
        f"/{fan.username}/following/",
        f"/p/{shortcode(photo_id)}/",
        "/tags/secprops/",
        f"/accounts/search/?q={owner.username[:8]}",
        "/",
    ]
    for page in pages:
        for client in (viewer, Client()):
            answer = client.get(page)
            body = answer.content.decode()
            assert answer.status_code in (200, 302), page
            for secret in (owner.email, owner.password, fan.password):
                assert secret not in body, (page, secret)


def _s3_get(url: str) -> tuple[int, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request("GET", f"{parts.path}?{parts.query}" if parts.query else parts.path)
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def test_private_photos_leave_only_as_short_signed_urls(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    owner, fan = make_user(name="secpriv", private=True), make_user(name="secfan")
    graph.follow(follower_id=fan.id, target_id=owner.id)
    graph.approve(owner_id=owner.id, requester_id=fan.id)
    photo_id = photo_create(user_id=owner.id, data=_jpeg()).photo_id
    media = (
        Client()
        .get(f"/v1/media/{photo_id}", HTTP_AUTHORIZATION=f"Bearer {token_for(fan)}")
        .json()["data"]
    )

    for image in media["images"].values():
        url = image["url"]
        query = parse_qs(urlsplit(url).query)
        assert query["X-Amz-Expires"] == ["600"]
        assert len(query["X-Amz-Signature"][0]) == 64
        assert _s3_get(url)[0] == 200
        bare = url.split("?", 1)[0]
        status, body = _s3_get(bare)
        assert (status, b"<Code>AccessDenied</Code>" in body) == (403, True)
    bucket = f"{settings.S3_ENDPOINT_URL}/{settings.S3_BUCKET}?list-type=2"
    assert _s3_get(bucket)[0] == 403


def test_profile_form_ignores_fields_it_does_not_offer(make_user) -> None:  # type: ignore[no-untyped-def]
    person, other = make_user(name="secme"), make_user(name="secother")
    client = Client()
    client.force_login(person)
    fields = ("id", "username", "is_staff", "is_superuser", "is_active", "password", "email")
    people = User.objects.filter(id__in=[person.id, other.id]).order_by("id")
    before = list(people.values(*fields))

    answer = client.post(
        "/accounts/edit/",
        {
            "email": person.email,
            "bio": "saved",
            "is_staff": "on",
            "is_superuser": "on",
            "is_active": "",
            "username": other.username,
            "id": str(other.id),
            "password": "x",
        },
    )

    assert answer.status_code == 302
    assert list(people.values(*fields)) == before
    assert User.objects.get(id=person.id).bio == "saved"


def test_sign_up_ignores_staff_flags(live_db, forget) -> None:  # type: ignore[no-untyped-def]
    name = f"secnew_{secrets.token_hex(6)}"
    ip = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
    answer = Client(REMOTE_ADDR=ip).post(
        "/accounts/signup/",
        {
            "email": f"{name}@example.com",
            "username": name,
            "password": "correct horse battery staple",
            "is_staff": "on",
            "is_superuser": "on",
        },
    )
    made = User.objects.filter(username=name)
    try:
        assert answer.status_code == 302
        assert list(made.values_list("is_staff", "is_superuser", "is_active")) == [
            (False, False, True)
        ]
    finally:
        forget(list(made.values_list("id", flat=True)))


def test_api_writes_ignore_a_named_owner_or_author(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    victim, attacker = make_user(name="secvictim"), make_user(name="secatk")
    photo_id = photo_create(user_id=victim.id, data=_jpeg()).photo_id
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(attacker)}"}
    upload = io.BytesIO(_jpeg())
    upload.name = "p.jpg"
    forged = {"user_id": str(victim.id), "owner_id": str(victim.id), "from": str(victim.id)}

    posted = Client().post("/v1/media/upload", {"photo": upload, **forged}, **auth)
    comment = Client().post(f"/v1/media/{photo_id}/comments", {"text": "hi", **forged}, **auth)

    assert posted.json()["data"]["user"]["id"] == str(attacker.id)
    new_photo = int(posted.json()["data"]["id"].split("_")[0])
    with photo_shard(new_photo):
        assert Photo.objects.get(id=new_photo).user_id == attacker.id
    assert comment.json()["data"]["from"]["id"] == str(attacker.id)
    with photo_shard(photo_id):
        assert Comment.objects.get(id=int(comment.json()["data"]["id"])).user_id == attacker.id
