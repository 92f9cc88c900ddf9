"""Posting, seeing, liking, commenting on and deleting photos, through the v1 API."""

from __future__ import annotations

import io
import secrets
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from PIL import Image

from accounts.selectors.graph import user_counts
from instaclone.sharding.connections import photo_shard, user_shard
from instaclone.sharding.idmap import photo_owner
from photos.models import Liked, Photo, Tag, TagMedia
from photos.shortcodes import shortcode
from photos.storage import rendition_key
from tests.worker_queue import jobs_settle


def _jpeg(seed: int = 1, size: tuple[int, int] = (800, 600)) -> bytes:
    image = Image.new("RGB", size, (seed * 37 % 255, seed * 91 % 255, seed * 53 % 255))
    for x in range(0, size[0], 40):
        image.paste((x % 255, 255 - x % 255, 128), (x, 0, x + 20, size[1]))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _upload(token: str, data: bytes, key: str | None = None, **fields: str) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    upload = io.BytesIO(data)
    upload.name = "photo.jpg"
    return Client().post("/v1/media/upload", {"photo": upload, **fields}, **headers)


def _api(method: str, path: str, token: str | None, **form: str) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    client = Client()
    if method == "GET":
        return client.get(path, form, **headers)
    if method == "DELETE":
        return client.delete(path, **headers)
    return client.post(path, form, **headers)


def _photo_id(media: dict[str, Any]) -> int:
    return int(media["id"].split("_")[0])


def test_upload_makes_a_photo_with_renditions_row_map_and_tags(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    alice = make_user(name="alice")
    response = _upload(
        token_for(alice), _jpeg(), caption="Sunset #Beach #sea with @nobody", filter="x-pro-ii"
    )
    assert response.status_code == 200, response.content
    media = response.json()["data"]
    photo_id = _photo_id(media)
    assert media["id"] == f"{photo_id}_{alice.id}"
    assert media["filter"] == "X-Pro II"
    assert media["tags"] == ["beach", "sea"]
    assert media["caption"]["text"] == "Sunset #Beach #sea with @nobody"
    assert media["likes"] == {"count": 0, "data": []}
    assert {name: (img["width"], img["height"]) for name, img in media["images"].items()} == {
        "standard_resolution": (640, 640),
        "low_resolution": (320, 320),
        "thumbnail": (150, 150),
    }
    assert media["link"] == f"http://testserver/p/{shortcode(photo_id)}/"
    with user_shard(alice.id):
        photo = Photo.objects.get(id=photo_id)
    for size in (640, 320, 150):
        key = rendition_key(photo.media_key, size)
        assert default_storage.exists(key)
        with default_storage.open(key) as stored, Image.open(stored) as image:
            assert image.size == (size, size)
    assert str(photo_id) in photo.media_key and len(photo.media_key) > len(f"p/{photo_id}/") + 16
    jobs_settle()  # the map entry and the tag index are jobs of the photo.posted event
    assert photo_owner(photo_id) == alice.id
    assert user_counts(user_id=alice.id)["media"] == 1
    assert TagMedia.objects.filter(tag="beach", photo_id=photo_id).exists()
    assert Tag.objects.get(name="beach").media_count >= 1
    by_code = Client().get(f"/p/{shortcode(photo_id)}/")
    assert by_code.status_code == 200
    assert b'property="og:image"' in by_code.content
    assert b"twitter.com/intent/tweet" in by_code.content


@pytest.mark.parametrize(
    ("data", "fields", "message"),
    [
        (b"", {}, "empty"),
        (b"not an image at all", {}, "is not a JPEG, PNG, WebP, GIF or HEIC/HEIF image"),
        (_jpeg(), {"caption": "x" * 2201}, "2200"),
        (_jpeg(), {"caption": " ".join(f"#t{i}" for i in range(31))}, "more than 30 hashtags"),
        (_jpeg(), {"filter": "Sepia Deluxe"}, "Unknown filter"),
        (_jpeg(), {"latitude": "91", "longitude": "0"}, "Latitude"),
        (_jpeg(), {"latitude": "10"}, "both latitude and longitude"),
        (_jpeg(), {"location_name": "Caf\x00e"}, "location name contains a NUL"),
    ],
)
def test_bad_uploads_are_refused(
    make_user, token_for, data: bytes, fields: dict[str, str], message: str
) -> None:  # type: ignore[no-untyped-def]
    alice = make_user(name="alice")
    response = _upload(token_for(alice), data, **fields)
    assert response.status_code == 400, response.content
    assert message in response.json()["meta"]["error_message"]
    assert user_counts(user_id=alice.id)["media"] == 0


def test_upload_without_a_photo_or_token_is_refused(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    alice = make_user(name="alice")
    missing = Client().post(
        "/v1/media/upload", {"caption": "hi"}, HTTP_AUTHORIZATION=f"Bearer {token_for(alice)}"
    )
    assert missing.status_code == 400
    anonymous = Client().post("/v1/media/upload", {"caption": "hi"})
    assert anonymous.json()["meta"]["error_type"] == "OAuthParameterException"


def test_retries_with_one_key_make_one_photo(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    alice = make_user(name="alice")
    token = token_for(alice)
    data = _jpeg(7)
    ids = {
        _photo_id(_upload(token, data, key="k-1", caption="once").json()["data"]) for _ in range(5)
    }
    assert len(ids) == 1
    reused = _upload(token, _jpeg(8), key="k-1", caption="once")
    assert reused.status_code == 400
    assert "already used for a different upload" in reused.json()["meta"]["error_message"]
    assert user_counts(user_id=alice.id)["media"] == 1


def test_concurrent_identical_uploads_make_one_photo(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    from django.db import connections

    alice = make_user(name="alice")
    token = token_for(alice)
    data = _jpeg(9)
    answers: list[Any] = []

    def send() -> None:
        try:
            answers.append(_upload(token, data, key="same-key", caption="twins"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200] * 10
    assert len({a.json()["data"]["id"] for a in answers}) == 1
    with user_shard(alice.id):
        assert Photo.objects.filter(user_id=alice.id).count() == 1


def test_likes_and_comments_are_exact_and_mirrored(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    owner, fan, other = make_user(name="owner"), make_user(name="fan"), make_user(name="other")
    media = _upload(token_for(owner), _jpeg(3)).json()["data"]
    photo_id = _photo_id(media)
    fan_token, other_token = token_for(fan), token_for(other)
    for _ in range(3):
        assert _api("POST", f"/v1/media/{media['id']}/likes", fan_token).status_code == 200
    _api("POST", f"/v1/media/{photo_id}/likes", other_token)
    seen = _api("GET", f"/v1/media/{photo_id}", fan_token).json()["data"]
    assert seen["likes"]["count"] == 2
    assert seen["user_has_liked"] is True
    likers = _api("GET", f"/v1/media/{photo_id}/likes", None).json()["data"]
    assert {u["id"] for u in likers} == {str(fan.id), str(other.id)}
    with user_shard(fan.id):
        assert Liked.objects.filter(user_id=fan.id, photo_id=photo_id, owner_id=owner.id).exists()
    liked = _api("GET", "/v1/users/self/media/liked", fan_token).json()["data"]
    assert [m["id"] for m in liked] == [media["id"]]
    _api("DELETE", f"/v1/media/{photo_id}/likes", other_token)
    assert _api("GET", f"/v1/media/{photo_id}", None).json()["data"]["likes"]["count"] == 1

    comment = _api(
        "POST", f"/v1/media/{photo_id}/comments", fan_token, text="Lovely #golden"
    ).json()
    comment_id = comment["data"]["id"]
    assert comment["data"]["from"]["id"] == str(fan.id)
    # Only the owner's words index a photo (tests/photos/test_tags.py has the rule's tests).
    assert not TagMedia.objects.filter(tag="golden", photo_id=photo_id).exists()
    too_long = _api("POST", f"/v1/media/{photo_id}/comments", fan_token, text="y" * 2201)
    assert too_long.status_code == 400
    stranger_delete = _api("DELETE", f"/v1/media/{photo_id}/comments/{comment_id}", other_token)
    assert stranger_delete.status_code == 400
    owner_delete = _api("DELETE", f"/v1/media/{photo_id}/comments/{comment_id}", token_for(owner))
    assert owner_delete.status_code == 200
    listing = _api("GET", f"/v1/media/{photo_id}/comments", None).json()
    assert listing["data"] == []
    assert not TagMedia.objects.filter(tag="golden", photo_id=photo_id).exists()


def test_delete_removes_objects_rows_map_tags_and_liked_lists(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    owner, fan = make_user(name="owner"), make_user(name="fan")
    media = _upload(token_for(owner), _jpeg(4), caption="#gone").json()["data"]
    photo_id = _photo_id(media)
    _api("POST", f"/v1/media/{photo_id}/likes", token_for(fan))
    jobs_settle()  # indexed and mapped first, so the delete has them to remove
    assert photo_owner(photo_id) == owner.id
    with photo_shard(photo_id):
        prefix = Photo.objects.get(id=photo_id).media_key
    assert _api("DELETE", f"/v1/media/{photo_id}", token_for(fan)).status_code == 400
    assert _api("DELETE", f"/v1/media/{photo_id}", token_for(owner)).status_code == 200
    with photo_shard(photo_id):
        assert not Photo.objects.filter(id=photo_id).exists()
    with user_shard(fan.id):
        assert not Liked.objects.filter(photo_id=photo_id).exists()
    assert not any(default_storage.exists(rendition_key(prefix, s)) for s in (640, 320, 150))
    assert photo_owner(photo_id) is None
    assert not TagMedia.objects.filter(photo_id=photo_id).exists()
    assert user_counts(user_id=owner.id)["media"] == 0
    assert _api("GET", f"/v1/media/{photo_id}", None).status_code == 404


def test_private_photos_stay_private_and_urls_expire(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    from accounts.services import graph
    from photos.storage import rendition_url

    star, fan, stranger = (
        make_user(name="star", private=True),
        make_user(name="fan"),
        make_user(name="stranger"),
    )
    graph.follow(follower_id=fan.id, target_id=star.id)
    graph.approve(owner_id=star.id, requester_id=fan.id)
    media = _upload(token_for(star), _jpeg(5), caption="#secretplace").json()["data"]
    photo_id = _photo_id(media)
    assert _api("GET", f"/v1/media/{photo_id}", token_for(fan)).status_code == 200
    for token in (token_for(stranger), None):
        assert _api("GET", f"/v1/media/{photo_id}", token).status_code == 400
        assert _api("GET", f"/v1/media/shortcode/{shortcode(photo_id)}", token).status_code == 400
        assert _api("GET", f"/v1/media/{photo_id}/comments", token).status_code == 400
        assert _api("POST", f"/v1/media/{photo_id}/likes", token).status_code == 400
    assert Client().get(f"/p/{shortcode(photo_id)}/").status_code == 404
    url = media["images"]["thumbnail"]["url"]
    assert "X-Amz-Expires=600" in url
    with photo_shard(photo_id):
        prefix = Photo.objects.get(id=photo_id).media_key
    from django.core.files.storage import default_storage as storage

    short = storage.url(rendition_key(prefix, 150), expire=1)
    with urllib.request.urlopen(short, timeout=5) as response:  # noqa: S310 - our S3 server
        assert response.status == 200
    time.sleep(2.5)
    with pytest.raises(urllib.error.HTTPError) as expired:
        urllib.request.urlopen(short, timeout=5)  # noqa: S310 - our S3 server
    assert expired.value.code == 403
    assert rendition_url(prefix, 150, private=True) != short


def test_tag_pages_show_only_what_the_viewer_may_see(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    from accounts.services import graph

    tag = f"t{secrets.token_hex(5)}"
    public, private = make_user(name="pub"), make_user(name="priv", private=True)
    fan, stranger = make_user(name="fan"), make_user(name="stranger")
    graph.follow(follower_id=fan.id, target_id=private.id)
    graph.approve(owner_id=private.id, requester_id=fan.id)
    open_ids = [
        _upload(token_for(public), _jpeg(i), caption=f"#{tag}").json()["data"]["id"]
        for i in range(3)
    ]
    hidden_id = _upload(token_for(private), _jpeg(9), caption=f"#{tag} secret").json()["data"]["id"]
    jobs_settle()  # the tag index is a job of the photo.posted event

    detail = _api("GET", f"/v1/tags/{tag.upper()}", None).json()
    # The count is what a stranger may see: the private photo is not in it.
    assert detail["data"] == {"name": tag, "media_count": 3}
    anonymous = _api("GET", f"/v1/tags/{tag}/media/recent", None).json()["data"]
    assert [m["id"] for m in anonymous] == list(reversed(open_ids))
    as_stranger = _api("GET", f"/v1/tags/{tag}/media/recent", token_for(stranger)).json()["data"]
    assert hidden_id not in [m["id"] for m in as_stranger]
    as_fan = _api("GET", f"/v1/tags/{tag}/media/recent", token_for(fan)).json()["data"]
    assert [m["id"] for m in as_fan][0] == hidden_id
    first = _api("GET", f"/v1/tags/{tag}/media/recent", None, count="2").json()
    assert [m["id"] for m in first["data"]] == [open_ids[2], open_ids[1]]
    cursor = first["pagination"]["next_max_tag_id"]
    rest = _api("GET", f"/v1/tags/{tag}/media/recent", None, max_tag_id=cursor).json()["data"]
    assert [m["id"] for m in rest] == [open_ids[0]]
    found = _api("GET", "/v1/tags/search", None, q=tag[:6]).json()["data"]
    assert {"name": tag, "media_count": 3} in found
    assert _api("GET", "/v1/tags/no-such$tag", None).status_code == 400
    assert _api("GET", f"/v1/tags/{tag}zz", None).status_code == 404


def test_a_hundred_uploads_each_retried_five_times_make_a_hundred_photos(
    make_user, token_for
) -> None:  # type: ignore[no-untyped-def]
    alice = make_user(name="alice")
    token = token_for(alice)
    statuses = []
    ids: dict[str, set[str]] = {}
    for n in range(100):
        data = _jpeg(n % 250 + 1, size=(200, 200))
        for _ in range(5):
            answer = _upload(token, data, key=f"upload-{n}", caption=f"number {n}")
            statuses.append(answer.status_code)
            ids.setdefault(f"upload-{n}", set()).add(answer.json()["data"]["id"])
    assert set(statuses) == {200}
    assert all(len(seen) == 1 for seen in ids.values())
    assert len({next(iter(seen)) for seen in ids.values()}) == 100
    with user_shard(alice.id):
        prefixes = list(Photo.objects.filter(user_id=alice.id).values_list("media_key", flat=True))
    assert len(prefixes) == 100
    assert user_counts(user_id=alice.id)["media"] == 100
    # One set of objects per photo: each prefix holds exactly its three renditions.
    for prefix in prefixes[:5]:
        folder, stem = prefix.rsplit("/", 1)
        _, files = default_storage.listdir(folder)
        assert sorted(files) == sorted(f"{stem}_{size}.jpg" for size in (640, 320, 150))


def test_mentions_resolve_to_active_users_whatever_the_case(make_user) -> None:  # type: ignore[no-untyped-def]
    from photos.services.comments import comment_create
    from photos.services.upload import photo_create

    alice, gone = make_user(name="Alice"), make_user(name="gone", active=False)
    poster = make_user(name="poster")
    text = f"with @{alice.username.upper()} and @{gone.username} and @no_such_person_here."
    posted = photo_create(user_id=poster.id, data=_jpeg(), caption=text)
    with photo_shard(posted.photo_id):
        assert Photo.objects.get(id=posted.photo_id).mentions == [alice.id]
    comment = comment_create(
        user_id=poster.id, photo_id=posted.photo_id, text=f"hi @{alice.username}"
    )
    assert comment.mentions == [alice.id]


def test_upload_store_down_503_leaves_nothing(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    import copy
    import socket

    from django.conf import settings
    from django.test import override_settings

    from instaclone.sharding.connections import user_shard
    from photos.models import Photo

    user = make_user()
    token = token_for(user)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: connections are refused at once
    broken = copy.deepcopy(settings.STORAGES)
    broken["default"]["OPTIONS"]["endpoint_url"] = f"http://127.0.0.1:{port}"
    upload = io.BytesIO(_jpeg(3))
    upload.name = "photo.jpg"
    with override_settings(STORAGES=broken):
        response = Client(raise_request_exception=False).post(
            "/v1/media/upload",
            {"photo": upload, "caption": "lost?"},
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
    assert response.status_code == 503, response.content
    assert response.json()["meta"]["error_type"] == "APIUnavailableError"
    assert response["Retry-After"] == "5"
    with user_shard(user.id):
        assert not Photo.objects.filter(user_id=user.id).exists()
