"""Where photo renditions live: keys from the photo ID plus a secret part, URLs, deletion."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from urllib.parse import urlencode

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

RENDITION_KEY = re.compile(r"^p/\d{1,20}/[0-9a-f]{24}_(640|320|150)\.jpg$")
SIZES = {"standard_resolution": 640, "low_resolution": 320, "thumbnail": 150}
PUBLIC_URL_SECONDS = 7 * 24 * 3600
PRIVATE_URL_SECONDS = 10 * 60


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
