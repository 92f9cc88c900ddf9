"""Comments, and deleting a photo with everything that hangs off it."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from accounts.selectors.users import user_ids_by_username
from accounts.services.graph import bump, locked_counts
from instaclone.events import event_emit
from instaclone.sharding.connections import photo_shard
from instaclone.sharding.idmap import unmap_photos
from photos.models import Comment, Like, LikeOutbox, Photo
from photos.selectors.entries import photos_forget
from photos.services.likes import PhotoNotFound, like_outbox_drain
from photos.services.tags import tags_index, tags_unindex
from photos.storage import renditions_delete
from photos.text import TextInvalid, hashtags, mention_names, text_clean


class CommentNotAllowed(PermissionError):
    """Only a comment's author or the photo's owner may delete it."""


class CommentNotFound(LookupError):
    """No such comment on this photo."""


def comment_create(*, user_id: int, photo_id: int, text: str) -> Comment:
    """Add a comment; the owner's own hashtags put the photo under those tags too."""
    cleaned = text_clean(text, what="comment")
    if not cleaned:
        raise TextInvalid("The comment is empty.")
    tags = hashtags(cleaned)
    mentioned = user_ids_by_username(mention_names(cleaned))
    with photo_shard(photo_id) as shard, transaction.atomic(using=shard.alias):
        photo = Photo.objects.select_for_update().filter(id=photo_id).first()
        if photo is None:
            raise PhotoNotFound("this photo does not exist")
        comment = Comment.objects.create(
            photo_id=photo_id, user_id=user_id, text=cleaned, tags=tags, mentions=mentioned
        )
        Photo.objects.filter(id=photo_id).update(comment_count=F("comment_count") + 1)
        photos_forget([photo_id], using=shard.alias)
        owner_id = photo.user_id
        # Only the owner's words index the photo: a stranger's #tag must not put it on a page.
        if tags and user_id == owner_id:
            transaction.on_commit(
                lambda: tags_index(photo_id=photo_id, owner_id=owner_id, tags=tags),
                using=shard.alias,
            )
    return comment


def comment_delete(*, user_id: int, photo_id: int, comment_id: int) -> None:
    """Delete a comment, as its author or as the photo's owner."""
    with photo_shard(photo_id) as shard, transaction.atomic(using=shard.alias):
        photo = Photo.objects.select_for_update().filter(id=photo_id).first()
        if photo is None:
            raise PhotoNotFound("this photo does not exist")
        comment = Comment.objects.filter(id=comment_id, photo_id=photo_id).first()
        if comment is None:
            raise CommentNotFound("this comment does not exist")
        if user_id not in (comment.user_id, photo.user_id):
            raise CommentNotAllowed("only the comment's author or the photo's owner can delete it")
        comment.delete()
        Photo.objects.filter(id=photo_id).update(comment_count=F("comment_count") - 1)
        photos_forget([photo_id], using=shard.alias)
        # A tag stays while the owner's words (the caption, another own comment) still carry it.
        # Anyone's comment is checked: rows a stranger's comment once indexed go with it too.
        owner_id = photo.user_id
        still = set(photo.tags)
        owner_said = Comment.objects.filter(photo_id=photo_id, user_id=owner_id)
        for tags in owner_said.values_list("tags", flat=True):
            still.update(tags)
        gone = [tag for tag in comment.tags if tag not in still]
        if gone:
            transaction.on_commit(
                lambda: tags_unindex(photo_id=photo_id, owner_id=owner_id, tags=gone),
                using=shard.alias,
            )


def photo_delete(*, user_id: int, photo_id: int) -> None:
    """Delete one's own photo: rows, likes, comments, tags, map entry and stored objects."""
    with photo_shard(photo_id) as shard, transaction.atomic(using=shard.alias):
        photo = Photo.objects.select_for_update().filter(id=photo_id).first()
        if photo is None:
            raise PhotoNotFound("this photo does not exist")
        if photo.user_id != user_id:
            raise CommentNotAllowed("only the photo's owner can delete it")
        all_tags = set(photo.tags)
        for tags in Comment.objects.filter(photo_id=photo_id).values_list("tags", flat=True):
            all_tags.update(tags)
        likers = list(Like.objects.filter(photo_id=photo_id).values_list("user_id", flat=True))
        Comment.objects.filter(photo_id=photo_id).delete()
        Like.objects.filter(photo_id=photo_id).delete()
        # Each liker's list must drop the photo: queue it like an unlike.
        LikeOutbox.objects.bulk_create(LikeOutbox(photo_id=photo_id, user_id=u) for u in likers)
        photo.delete()
        photos_forget([photo_id], using=shard.alias)
        locked_counts(user_id)
        bump(user_id, media=-1)
        prefix = photo.media_key

        def after() -> None:
            tags_unindex(photo_id=photo_id, owner_id=user_id, tags=all_tags)
            unmap_photos([photo_id])
            like_outbox_drain(photo_id=photo_id)
            if prefix:
                renditions_delete(prefix)

        transaction.on_commit(after, using=shard.alias)
        event_emit("photo.deleted", using=shard.alias, photo_id=photo_id, owner_id=user_id)
