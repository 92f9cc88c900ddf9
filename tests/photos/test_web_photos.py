"""Posting with a filter, the grid, and liking and commenting in the browser."""

from __future__ import annotations

import io
import re

from django.test import Client
from PIL import Image

from accounts.selectors.graph import user_counts
from instaclone.sharding.connections import user_shard
from photos.filters import FILTER_NAMES
from photos.models import Photo


def _jpeg() -> bytes:
    image = Image.new("RGB", (700, 500), (200, 120, 40))
    image.paste((20, 90, 200), (0, 0, 350, 500))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_post_with_a_filter_from_previews_then_like_and_comment(make_user) -> None:  # type: ignore[no-untyped-def]
    alice, bob = make_user(name="alice"), make_user(name="bob")
    client = _client(alice)
    assert client.get("/upload/").status_code == 200
    upload = io.BytesIO(_jpeg())
    upload.name = "sunset.jpg"
    page = client.post("/upload/", {"photo": upload, "caption": "Golden #hour"})
    assert page.status_code == 200
    body = page.content.decode()
    shown = re.findall(r'<input type="radio" name="filter" value="([^"]+)"', body)
    assert shown == list(FILTER_NAMES)
    assert body.count('src="data:image/jpeg;base64,') == len(FILTER_NAMES)
    token = re.search(r'name="token" value="([^"]+)"', body).group(1)  # type: ignore[union-attr]
    posted = client.post(
        "/upload/post/", {"token": token, "filter": "Valencia", "caption": "Golden #hour"}
    )
    assert posted.status_code == 302
    again = client.post("/upload/post/", {"token": token, "filter": "Valencia"})
    assert again.status_code == 400  # the stash is gone once posted: one photo
    with user_shard(alice.id):
        photo = Photo.objects.get(user_id=alice.id)
    assert photo.filter_name == "Valencia"
    assert user_counts(user_id=alice.id)["media"] == 1
    permalink = posted["Location"]
    grid = client.get(f"/{alice.username}/").content.decode()
    assert f'href="{permalink}"' in grid

    bob_client = _client(bob)
    bob_client.post(f"{permalink}act/", {"action": "like"})
    bob_client.post(f"{permalink}act/", {"action": "comment", "text": "Wow #golden"})
    seen = client.get(permalink).content.decode()
    assert '<strong id="like-count">1</strong> likes' in seen
    assert f"<strong>{bob.username}</strong> Wow #golden" in seen
    assert bob_client.post(f"{permalink}act/", {"action": "poke"}).status_code == 400


def test_upload_page_refuses_bad_files_and_strangers(make_user) -> None:  # type: ignore[no-untyped-def]
    alice = make_user(name="alice")
    client = _client(alice)
    junk = io.BytesIO(b"%PDF-1.4 not a photo")
    junk.name = "photo.jpg"
    refused = client.post("/upload/", {"photo": junk})
    assert refused.status_code == 400
    assert b'class="error"' in refused.content
    assert client.post("/upload/", {}).status_code == 400
    assert client.post("/upload/post/", {"token": "../../etc"}).status_code == 400
    anonymous = Client().get("/upload/")
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")


def test_tag_page_lists_visible_photos(make_user) -> None:  # type: ignore[no-untyped-def]
    import secrets

    from photos.services.upload import photo_create
    from photos.shortcodes import shortcode
    from tests.worker_queue import jobs_settle

    tag = f"web{secrets.token_hex(4)}"
    alice = make_user(name="alice")
    secret = make_user(name="secret", private=True)
    shown = photo_create(user_id=alice.id, data=_jpeg(), caption=f"#{tag}")
    hidden = photo_create(user_id=secret.id, data=_jpeg(), caption=f"#{tag}")
    jobs_settle()  # the tag index is a job of the photo.posted event
    page = Client().get(f"/tags/{tag}/").content.decode()
    assert f'href="/p/{shortcode(shown.photo_id)}/"' in page
    assert f'href="/p/{shortcode(hidden.photo_id)}/"' not in page
    assert "1 post<" in page  # the private account's photo is not counted for strangers
    assert Client().get(f"/tags/{tag}/?max_tag_id=abc").status_code == 404


def test_file_system_store_serves_renditions_only_behind_signed_urls(make_user, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from django.test import override_settings

    from photos.services.upload import photo_create
    from photos.storage import media_prefix, rendition_url

    alice = make_user(name="alice", private=True)
    local = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=local):
        posted = photo_create(user_id=alice.id, data=_jpeg())
        prefix = media_prefix(posted.photo_id)
        url = rendition_url(prefix, 150, private=True)
        assert url.startswith(f"/media/{prefix}_150.jpg?e=")
        served = Client().get(url)
        assert served.status_code == 200
        assert served["Content-Type"] == "image/jpeg"
        unsigned = Client().get(f"/media/{prefix}_150.jpg")
        assert unsigned.status_code == 404
        forged = Client().get(url[:-4] + "0000")
        assert forged.status_code == 404
        expired = url.split("?")[0] + "?e=1&s=" + url.rsplit("s=", 1)[1]
        assert Client().get(expired).status_code == 404
        assert Client().get("/media/../../etc/passwd?e=9999999999&s=x").status_code == 404
        from photos.services.comments import photo_delete

        photo_delete(user_id=alice.id, photo_id=posted.photo_id)
