"""Post a photo: process the image, store the renditions, write the row, index, map.

The image is processed before any transaction opens. Then, on the owner's shard and in one
transaction: the row (its ID from the shard's ``next_id()``), the renditions under keys derived
from that ID, the owner's media count, the ``Idempotency-Key`` record and the ``photo.posted``
event. The photo->user map and the tag index (both in the users database) are that event's
job ``photos.photo_index``, so a retry of an upload whose event is still pending loses nothing.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from django.db import transaction

from accounts.selectors.users import user_ids_by_username, user_public_locked
from accounts.services.graph import bump, locked_counts
from instaclone.events import event_emit
from instaclone.sharding.connections import user_shard
from instaclone.sharding.idmap import map_photos
from photos.filters import UnknownFilter
from photos.filters import filter_name as canonical_filter
from photos.images import ImageRejected, process_image
from photos.models import Photo, UploadKey
from photos.selectors.entries import urls_warm
from photos.services.tags import tags_index
from photos.storage import media_prefix, renditions_delete, renditions_save
from photos.text import TextInvalid, hashtags, mention_names, text_clean

KEY_MAX = 200
logger = logging.getLogger(__name__)


class UploadInvalid(ValueError):
    """An upload that cannot be posted; ``code`` names the problem, the message explains it."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class KeyReused(UploadInvalid):
    """The same ``Idempotency-Key`` came with a different request."""


@dataclass(frozen=True, slots=True)
class Location:
    """Where a photo was taken, as the client named it."""

    name: str
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True, slots=True)
class Posted:
    """The photo an upload made, and whether this call made it (False for a retry)."""

    photo_id: int
    created: bool


def _location_clean(location: Location | None) -> Location | None:
    if location is None:
        return None
    if len(location.name) > 200:
        raise UploadInvalid("The location name is longer than 200 characters.")
    if "\x00" in location.name:
        raise UploadInvalid("The location name contains a NUL character.")
    if (location.latitude is None) != (location.longitude is None):
        raise UploadInvalid("Send both latitude and longitude, or neither.")
    if location.latitude is not None and not -90 <= location.latitude <= 90:
        raise UploadInvalid("Latitude must be between -90 and 90.")
    if location.longitude is not None and not -180 <= location.longitude <= 180:
        raise UploadInvalid("Longitude must be between -180 and 180.")
    return location


def _fingerprint(data: bytes, *parts: object) -> str:
    digest = hashlib.sha256(data)
    for part in parts:
        digest.update(b"\x00" + repr(part).encode())
    return digest.hexdigest()


def _earlier_answer(user_id: int, key: str, fingerprint: str) -> Posted | None:
    """Return the photo a key already made; raise when the key came with another request."""
    with user_shard(user_id):
        earlier = UploadKey.objects.filter(user_id=user_id, key=key).first()
    if earlier is None:
        return None
    if earlier.fingerprint != fingerprint:
        raise KeyReused(
            "This Idempotency-Key was already used for a different upload.", "key_reused"
        )
    return Posted(photo_id=earlier.photo_id, created=False) if earlier.photo_id else None


def photo_create(
    *,
    user_id: int,
    data: bytes,
    caption: str = "",
    filter_name: str = "Normal",
    crop: tuple[int, int, int, int] | None = None,
    location: Location | None = None,
    idempotency_key: str | None = None,
) -> Posted:
    """Post a photo for a user; with an idempotency key a retry returns the first photo."""
    try:
        caption = text_clean(caption, what="caption")
    except TextInvalid as exc:
        raise UploadInvalid(str(exc), "caption") from exc
    location = _location_clean(location)
    if idempotency_key is not None and not 0 < len(idempotency_key) <= KEY_MAX:
        raise UploadInvalid(f"Idempotency-Key must be 1 to {KEY_MAX} characters.", "key")
    try:
        filter_name = canonical_filter(filter_name)
    except UnknownFilter as exc:
        raise UploadInvalid(str(exc), "filter") from exc
    fingerprint = ""
    if idempotency_key is not None:
        # Hashing 25 MB costs milliseconds: only a request that can be retried pays for it.
        fingerprint = _fingerprint(data, caption, filter_name, crop, location)
        earlier = _earlier_answer(user_id, idempotency_key, fingerprint)
        if earlier is not None:
            return earlier
    try:
        processed = process_image(data, filter_name=filter_name, crop=crop)
    except ImageRejected as exc:
        raise UploadInvalid(exc.message, exc.code) from exc
    tags = hashtags(caption)
    mentioned = user_ids_by_username(mention_names(caption))
    with user_shard(user_id) as shard, transaction.atomic(using=shard.alias):
        locked_counts(user_id)
        if idempotency_key is not None:
            record, _ = UploadKey.objects.select_for_update().get_or_create(
                user_id=user_id, key=idempotency_key, defaults={"fingerprint": fingerprint}
            )
            if record.fingerprint != fingerprint:
                raise KeyReused(
                    "This Idempotency-Key was already used for a different upload.", "key_reused"
                )
            if record.photo_id:
                # A concurrent twin finished first while this one waited for the lock.
                return Posted(photo_id=record.photo_id, created=False)
        photo = Photo.objects.create(
            user_id=user_id,
            caption=caption,
            filter_name=filter_name,
            tags=tags,
            mentions=mentioned,
            location_name=location.name if location else "",
            latitude=location.latitude if location else None,
            longitude=location.longitude if location else None,
        )
        photo_id = photo.id
        prefix = media_prefix(photo_id)

        def record_rest() -> None:
            # While the renditions travel: the rest of the rows, and the URLs signed ahead.
            Photo.objects.filter(id=photo_id).update(media_key=prefix)
            bump(user_id, media=1)
            if idempotency_key is not None:
                UploadKey.objects.filter(id=record.id).update(photo_id=photo_id)
            urls_warm(prefix, owner_id=user_id)

        try:
            renditions = ((r.size, r.data) for r in processed.renditions)
            renditions_save(prefix, renditions, meanwhile=record_rest)
        except Exception:
            _renditions_drop(prefix)
            raise
        # The map entry, the tag index and the fan-out are jobs of this event: written with the
        # photo, they are sent after the commit or by the sweep, so none of them can be lost.
        event_emit("photo.posted", using=shard.alias, photo_id=photo_id, owner_id=user_id)
    return Posted(photo_id=photo_id, created=True)


def _renditions_drop(prefix: str) -> None:
    """Delete what a failed upload stored; the store being down is what often failed it."""
    try:
        renditions_delete(prefix)
    except Exception:  # noqa: BLE001 - the first error is the one to raise; keys are secret
        logger.warning("could not delete the renditions under %s", prefix, exc_info=True)


def photo_index(*, photo_id: int, owner_id: int) -> bool:
    """Record a posted photo in the users database: its owner, its caption's tags.

    Idempotent, and safe against a delete racing it: the photo is read under the owner's user
    row lock, which a delete's unindex takes after the delete commits, so either this finds no
    photo or the unindex runs after it. Return whether the photo was there to index.
    """
    with transaction.atomic(using="default"):
        user_public_locked(user_id=owner_id)
        with user_shard(owner_id):
            found = Photo.objects.filter(id=photo_id, user_id=owner_id).values_list("tags")
            row = found.first()
        if row is None:
            return False
        map_photos({photo_id: owner_id})
        tags_index(photo_id=photo_id, owner_id=owner_id, tags=row[0])
    return True
