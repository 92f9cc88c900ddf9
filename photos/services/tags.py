"""The tag -> photo index in the users database, with exact per-tag counts.

Only the owner's words index a photo: its caption and the owner's own comments
(photos/services/comments.py decides which tags to pass here).

Each row says whether its owner is active and public (``TagMedia.visible``); ``Tag.media_count``
counts the visible rows and ``Tag.hidden_count`` the others, so a stranger is never told about
private photos and a privacy switch moves counts instead of recounting. Every writer of an
owner's rows holds that owner's user row locked while it writes (``user_public_locked``): an
index, an unindex and a resync of one owner run one at a time and each reads the owner's state
as it is then. A privacy switch or a ban waits for the writers that read the old state, and the
resync its commit triggers (``tags_owner_sync``, a job) finds their rows. Tag rows are updated
in name order, so writers never wait on each other in a circle.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Count, F
from django.db.models.signals import post_save

from accounts.selectors.users import user_public_locked
from instaclone.events import event_emit
from photos.models import Tag, TagMedia

USERS_ALIAS = "default"
# The user fields that decide whether strangers may see the user's photos.
VISIBILITY_FIELDS = frozenset({"is_private", "is_active"})


def _counter(visible: bool) -> str:
    return "media_count" if visible else "hidden_count"


def tags_index(*, photo_id: int, owner_id: int, tags: Iterable[str]) -> None:
    """Add a photo under each of its tags; adding it twice changes nothing."""
    names = sorted(set(tags))
    if not names:
        return
    with transaction.atomic(using=USERS_ALIAS):
        visible = user_public_locked(user_id=owner_id)
        counter = _counter(visible)
        for name in names:
            _, created = TagMedia.objects.get_or_create(
                tag=name, photo_id=photo_id, defaults={"owner_id": owner_id, "visible": visible}
            )
            if created:
                Tag.objects.get_or_create(name=name)
                Tag.objects.filter(name=name).update(**{counter: F(counter) + 1})


def tags_unindex(*, photo_id: int, owner_id: int, tags: Iterable[str]) -> None:
    """Remove a photo from the given tags."""
    names = sorted(set(tags))
    if not names:
        return
    with transaction.atomic(using=USERS_ALIAS):
        user_public_locked(user_id=owner_id)
        rows = TagMedia.objects.filter(photo_id=photo_id, tag__in=names)
        found = dict(rows.values_list("tag", "visible"))
        if not found:
            return
        rows.delete()
        for name in sorted(found):
            counter = _counter(found[name])
            Tag.objects.filter(name=name).update(**{counter: F(counter) - 1})


def tags_owner_sync(*, owner_id: int) -> int:
    """Make an owner's index rows and the tags' counts match the owner's privacy and status.

    Return how many rows changed; running it again changes nothing.
    """
    with transaction.atomic(using=USERS_ALIAS):
        visible = user_public_locked(user_id=owner_id)
        moved = TagMedia.objects.filter(owner_id=owner_id).exclude(visible=visible)
        per_tag = dict(
            moved.order_by().values("tag").annotate(rows=Count("id")).values_list("tag", "rows")
        )
        if not per_tag:
            return 0
        moved.update(visible=visible)
        gained, lost = _counter(visible), _counter(not visible)
        for name in sorted(per_tag):
            rows = per_tag[name]
            Tag.objects.filter(name=name).update(**{gained: F(gained) + rows, lost: F(lost) - rows})
    return sum(per_tag.values())


def _user_saved(sender: type, instance: Any, **kwargs: Any) -> None:
    if kwargs.get("created"):
        return  # no photos yet
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and not VISIBILITY_FIELDS & set(update_fields):
        return
    event_emit(
        "user.visibility_changed", using=instance._state.db or USERS_ALIAS, user_id=instance.pk
    )


def connect_tag_receivers() -> None:
    """Resync a user's tag rows after any save that may switch privacy or ban (idempotent)."""
    from accounts.models import User

    post_save.connect(_user_saved, sender=User, dispatch_uid="photos-tag-visibility")
