"""The tag -> photo index in the users database, with exact per-tag counts."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F

from photos.models import Tag, TagMedia


def tags_index(*, photo_id: int, owner_id: int, tags: Iterable[str]) -> None:
    """Add a photo under each of its tags; adding it twice changes nothing."""
    with transaction.atomic(using="default"):
        for name in dict.fromkeys(tags):
            _, created = TagMedia.objects.get_or_create(
                tag=name, photo_id=photo_id, defaults={"owner_id": owner_id}
            )
            if created:
                Tag.objects.get_or_create(name=name)
                Tag.objects.filter(name=name).update(media_count=F("media_count") + 1)


def tags_unindex(*, photo_id: int, tags: Iterable[str]) -> None:
    """Remove a photo from the given tags (its caption's and its comments')."""
    with transaction.atomic(using="default"):
        for name in dict.fromkeys(tags):
            deleted, _ = TagMedia.objects.filter(tag=name, photo_id=photo_id).delete()
            if deleted:
                Tag.objects.filter(name=name).update(media_count=F("media_count") - 1)
