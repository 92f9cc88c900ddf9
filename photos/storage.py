"""Where photo renditions live: keys from the photo ID plus a secret part, URLs, deletion.

Also the web upload's stash: the original a person sent (with its GPS and other metadata),
kept between choosing a filter and posting, deleted after the post or by a periodic sweep.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import posixpath
import re
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from urllib.parse import urlencode

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

RENDITION_KEY = re.compile(r"^p/\d{1,20}/[0-9a-f]{24}_(640|320|150)\.jpg$")
SIZES = {"standard_resolution": 640, "low_resolution": 320, "thumbnail": 150}
# A signed URL cannot be taken back: one handed out before its owner went private or blocked
# someone works until it expires. So public URLs live two hours (they were a week), private
# ones ten minutes; the caches that hold URLs keep them for a fraction of that (see
# photos/selectors/entries.py), so whatever a reader is handed still works for a good while.
PUBLIC_URL_SECONDS = 2 * 3600
PRIVATE_URL_SECONDS = 10 * 60
STASH_PREFIX = "tmp/uploads/"
# S3's DeleteObjects takes at most this many keys per request.
DELETE_BATCH = 1000


def media_prefix(photo_id: int) -> str:
    """Return the key prefix of a photo's renditions.

    The secret part comes from the photo ID and SECRET_KEY: the same photo always gets the same
    keys (a retried job overwrites), but nobody can guess a key from an ID.
    """
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"photo:{photo_id}".encode(), hashlib.sha256
    ).hexdigest()[:24]
    return f"p/{photo_id}/{digest}"


def rendition_key(prefix: str, size: int) -> str:
    """Return the object key of one rendition."""
    return f"{prefix}_{size}.jpg"


def _save(key: str, data: bytes) -> str:
    if not hasattr(default_storage, "bucket") and default_storage.exists(key):
        # The file system would save beside it under another name; replace it instead.
        default_storage.delete(key)
    return str(default_storage.save(key, ContentFile(data)))


@functools.cache
def _uploads() -> ThreadPoolExecutor:
    """Return this process's pool for storing a photo's renditions side by side."""
    return ThreadPoolExecutor(max_workers=len(SIZES), thread_name_prefix="rendition-put")


def renditions_save(
    prefix: str,
    renditions: Iterable[tuple[int, bytes]],
    *,
    meanwhile: Callable[[], object] | None = None,
) -> list[str]:
    """Store (size, JPEG bytes) renditions under a prefix at once, replacing what is there.

    ``meanwhile`` runs on this thread while the objects travel (the puts mostly wait on the
    network); its exception, like a failed put, is raised once every put has finished.
    """
    futures = [
        _uploads().submit(_save, rendition_key(prefix, size), data) for size, data in renditions
    ]
    try:
        if meanwhile is not None:
            meanwhile()
    finally:
        # Every put finishes (or fails) before this returns, so a failure can clean up after all.
        wait(futures)
    return [future.result() for future in futures]


def renditions_delete(prefix: str) -> None:
    """Delete a photo's renditions (missing ones are fine)."""
    for size in SIZES.values():
        default_storage.delete(rendition_key(prefix, size))


def rendition_url(prefix: str, size: int, *, private: bool) -> str:
    """Return a signed URL; short-lived for a private account's photo."""
    seconds = PRIVATE_URL_SECONDS if private else PUBLIC_URL_SECONDS
    return signed_url(rendition_key(prefix, size), seconds=seconds)


def signed_url(key: str, *, seconds: int) -> str:
    """Return a URL of a stored object that works for ``seconds``."""
    if hasattr(default_storage, "bucket"):
        return str(default_storage.url(key, expire=seconds))
    # Without S3 the app serves the files itself, behind the same kind of expiring signature.
    expires = int(time.time()) + seconds
    query = urlencode({"e": expires, "s": _signature(key, expires)})
    return f"{reverse('media_file', args=[key])}?{query}"


def _signature(key: str, expires: int) -> str:
    message = f"media:{key}:{expires}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:32]


def signed_key_valid(key: str, expires: str, signature: str) -> bool:
    """Tell whether a file URL's signature is genuine and not yet expired."""
    if not RENDITION_KEY.match(key) or not expires.isdigit() or int(expires) < time.time():
        return False
    return hmac.compare_digest(_signature(key, int(expires)), signature)


def stash_key(user_id: int, token: str) -> str:
    """Return the key of a web upload's stashed original."""
    return f"{STASH_PREFIX}{user_id}/{token}"


def stashes_delete_older_than(*, seconds: int, now: float | None = None) -> int:
    """Delete stashed upload originals stored more than ``seconds`` ago; return how many."""
    cutoff = (time.time() if now is None else now) - seconds
    if not hasattr(default_storage, "bucket"):
        old = [key for key, stored in _stashes_on_disk() if stored < cutoff]
        for key in old:
            default_storage.delete(key)
        return len(old)
    client = default_storage.connection.meta.client
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=default_storage.bucket_name, Prefix=STASH_PREFIX
    )
    old = [
        item["Key"]
        for page in pages
        for item in page.get("Contents", [])
        if item["LastModified"].timestamp() < cutoff
    ]
    for start in range(0, len(old), DELETE_BATCH):
        batch = old[start : start + DELETE_BATCH]
        client.delete_objects(
            Bucket=default_storage.bucket_name,
            Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
        )
    return len(old)


def _stashes_on_disk(folder: str = STASH_PREFIX.rstrip("/")) -> Iterator[tuple[str, float]]:
    """Yield (key, stored at) of every stash in a file-system store."""
    if not default_storage.exists(folder):
        return
    folders, files = default_storage.listdir(folder)
    for name in files:
        key = posixpath.join(folder, name)
        yield key, default_storage.get_modified_time(key).timestamp()
    for name in folders:
        yield from _stashes_on_disk(posixpath.join(folder, name))
