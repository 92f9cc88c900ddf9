"""The web upload's stashed originals (metadata and GPS included) do not outlive their use."""

from __future__ import annotations

import io
import re
import time

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client, override_settings
from PIL import Image

from instaclone.celery import app
from photos.storage import stash_key
from photos.tasks import upload_stashes_sweep

SWEEP = "photos.upload_stashes_sweep"


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (400, 300), (30, 140, 90))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)}  # GPS IFD
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def _stored(prefix: str) -> list[str]:
    """Return the object keys under ``prefix``, as the S3 server lists them."""
    listed = default_storage.connection.meta.client.list_objects_v2(
        Bucket=default_storage.bucket_name, Prefix=prefix
    )
    return sorted(item["Key"] for item in listed.get("Contents", []))


def _choose(client: Client, caption: str = "") -> str:
    upload = io.BytesIO(_jpeg_with_gps())
    upload.name = "trip.jpg"
    page = client.post("/upload/", {"photo": upload, "caption": caption})
    assert page.status_code == 200
    return re.search(r'name="token" value="([^"]+)"', page.content.decode()).group(1)  # type: ignore[union-attr]


def test_posting_deletes_the_stashed_original(make_user) -> None:  # type: ignore[no-untyped-def]
    alice = make_user(name="alice")
    client = Client()
    client.force_login(alice)
    token = _choose(client)
    assert _stored(f"tmp/uploads/{alice.id}/") == [f"tmp/uploads/{alice.id}/{token}"]
    posted = client.post("/upload/post/", {"token": token, "filter": "Normal"})
    assert posted.status_code == 302
    assert _stored(f"tmp/uploads/{alice.id}/") == []


def test_a_refused_post_deletes_the_stashed_original(make_user) -> None:  # type: ignore[no-untyped-def]
    alice = make_user(name="alice")
    client = Client()
    client.force_login(alice)
    token = _choose(client)
    refused = client.post("/upload/post/", {"token": token, "caption": "x" * 2201})
    assert refused.status_code == 400
    assert b"The caption is longer than 2200 characters." in refused.content
    assert _stored(f"tmp/uploads/{alice.id}/") == []


def test_sweep_keeps_fresh_stashes_and_deletes_those_over_an_hour_old(live_db) -> None:  # type: ignore[no-untyped-def]
    fresh = stash_key(987654321, "sweep-probe-token")
    other = "tmp/not-a-stash/sweep-probe"
    for key in (fresh, other):
        default_storage.save(key, ContentFile(b"original with GPS"))
    try:
        upload_stashes_sweep.apply().get()
        assert _stored(fresh) == [fresh]

        # The same object seen from an hour and a minute later: over the age limit.
        later = time.time() + settings.UPLOAD_STASH_SECONDS + 60
        deleted = upload_stashes_sweep.apply(kwargs={"now": later}).get()
        assert deleted >= 1
        assert _stored(fresh) == []
        assert _stored(other) == [other]  # only stashes are swept
    finally:
        default_storage.delete(fresh)
        default_storage.delete(other)


def test_the_worker_runs_the_sweep_by_name_and_beat_schedules_it(live_db) -> None:  # type: ignore[no-untyped-def]
    assert settings.CELERY_BEAT_SCHEDULE["upload-stashes-sweep"] == {
        "task": SWEEP,
        "schedule": 600.0,
    }
    key = stash_key(987654322, "worker-probe-token")
    default_storage.save(key, ContentFile(b"original with GPS"))
    try:
        # The stack's own worker, as beat sends it; an hour and a minute on, so it deletes.
        app.send_task(SWEEP, kwargs={"now": time.time() + settings.UPLOAD_STASH_SECONDS + 60})
        deadline = time.monotonic() + 30
        while _stored(key) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _stored(key) == []
    finally:
        default_storage.delete(key)


def test_sweep_on_a_file_system_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    local = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=local):
        key = stash_key(5, "disk-token")
        default_storage.save(key, ContentFile(b"original"))
        assert upload_stashes_sweep.apply().get() == 0
        assert default_storage.exists(key)
        later = time.time() + settings.UPLOAD_STASH_SECONDS + 60
        assert upload_stashes_sweep.apply(kwargs={"now": later}).get() == 1
        assert not default_storage.exists(key)


def test_posting_a_stash_that_is_gone_answers_400(make_user) -> None:  # type: ignore[no-untyped-def]
    alice = make_user(name="alice")
    client = Client()
    client.force_login(alice)
    token = _choose(client)
    # Swept (or posted by a double submit) between the two steps.
    default_storage.delete(stash_key(alice.id, token))
    for posted in (token, "never-stashed-token"):
        refused = client.post("/upload/post/", {"token": posted, "filter": "Normal"})
        assert refused.status_code == 400
        assert b"That upload expired; choose the photo again." in refused.content
