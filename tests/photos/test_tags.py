"""Tag pages and counts: bounded reads, counts of what strangers may see, the owner's words only."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections
from django.db.models import Count
from django.test import Client

from accounts.models import User
from accounts.services.graph import approve, block, follow
from accounts.services.users import user_update_profile
from instaclone.sharding.connections import user_shard
from photos.models import Photo, Tag, TagMedia
from photos.services.comments import comment_create, comment_delete, photo_delete
from photos.services.tags import tags_index, tags_owner_sync
from photos.storage import media_prefix


def _tag() -> str:
    return f"t{secrets.token_hex(6)}"


def _photo(owner: User, *tags: str, stored: bool = True) -> int:
    """Post a bare photo row whose caption carries ``tags`` and index it, as an upload does.

    ``stored`` gives it a storage prefix (its card then has URLs); rows that are never shown
    go without, so deleting them touches no storage.
    """
    with user_shard(owner.id):
        photo = Photo.objects.create(
            user_id=owner.id, caption=" ".join(f"#{t}" for t in tags), tags=list(tags)
        )
        if stored:
            Photo.objects.filter(id=photo.id).update(media_key=media_prefix(photo.id))
    tags_index(photo_id=photo.id, owner_id=owner.id, tags=tags)
    return photo.id


def _ids(owner: User, photo_ids: list[int]) -> list[str]:
    """Return v1 media IDs, newest first."""
    return [f"{photo_id}_{owner.id}" for photo_id in sorted(photo_ids, reverse=True)]


def _get(path: str, token: str | None = None, **query: str) -> dict[str, Any]:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    response = Client().get(path, query, **headers)
    assert response.status_code == 200, response.content
    return response.json()  # type: ignore[no-any-return]


@contextmanager
def _index_reads() -> Iterator[list[int]]:
    """Record how many rows each statement on the tag index returned, in order."""
    reads: list[int] = []

    def wrapper(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        result = execute(sql, params, many, context)
        if "photos_tagmedia" in sql:
            reads.append(context["cursor"].rowcount)
        return result

    with connections["default"].execute_wrapper(wrapper):
        yield reads


def _counts(tag: str) -> tuple[int, int]:
    row = Tag.objects.filter(name=tag).values_list("media_count", "hidden_count").first()
    return row if row is not None else (0, 0)


def _rows_by_visibility(tag: str) -> tuple[int, int]:
    found = dict(
        TagMedia.objects.filter(tag=tag)
        .order_by()
        .values("visible")
        .annotate(n=Count("id"))
        .values_list("visible", "n")
    )
    return found.get(True, 0), found.get(False, 0)


def test_a_tag_full_of_private_photos_costs_one_bounded_read(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    tag = _tag()
    public, private = make_user(name="pub"), make_user(name="priv", private=True)
    stranger = make_user(name="stranger")
    shown = [_photo(public, tag) for _ in range(3)]
    for _ in range(120):
        _photo(private, tag, stored=False)

    with _index_reads() as reads:
        page = _get(f"/v1/tags/{tag}/media/recent")
    assert [m["id"] for m in page["data"]] == _ids(public, shown)
    assert page["pagination"] == {}
    assert reads == [3]  # one statement, and not one of the 120 private rows read

    with _index_reads() as reads:
        page = _get(f"/v1/tags/{tag}/media/recent", token_for(stranger))
    assert [m["id"] for m in page["data"]] == _ids(public, shown)
    assert reads == [3, 0]  # the public rows, then the stranger's own and followees' hidden ones


def test_a_follower_sees_private_photos_without_reading_strangers_hidden_ones(
    make_user, token_for
) -> None:  # type: ignore[no-untyped-def]
    tag = _tag()
    star, crowd = make_user(name="star", private=True), make_user(name="crowd", private=True)
    fan, public = make_user(name="fan"), make_user(name="pub")
    follow(follower_id=fan.id, target_id=star.id)
    approve(owner_id=star.id, requester_id=fan.id)
    older = _photo(public, tag)
    starred = _photo(star, tag)
    for _ in range(60):
        _photo(crowd, tag, stored=False)
    newest = _photo(public, tag)

    with _index_reads() as reads:
        page = _get(f"/v1/tags/{tag}/media/recent", token_for(fan))
    assert [m["id"] for m in page["data"]] == [
        f"{newest}_{public.id}",
        f"{starred}_{star.id}",
        f"{older}_{public.id}",
    ]
    assert reads == [2, 1]
    assert _get(f"/v1/tags/{tag}")["data"] == {"name": tag, "media_count": 2}


def test_blocked_owners_flood_ends_pages_early_with_a_cursor(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    tag = _tag()
    viewer, blocker, public = make_user(name="viewer"), make_user(name="blk"), make_user(name="pub")
    shown = [_photo(public, tag) for _ in range(3)]
    for _ in range(50):
        _photo(blocker, tag, stored=False)
    block(blocker_id=blocker.id, target_id=viewer.id)
    token = token_for(viewer)

    pages, reads_per_page, cursor = [], [], None
    while True:
        query = {"count": "5"} | ({"max_tag_id": cursor} if cursor else {})
        with _index_reads() as reads:
            page = _get(f"/v1/tags/{tag}/media/recent", token, **query)
        pages.append([m["id"] for m in page["data"]])
        reads_per_page.append(reads)
        cursor = page["pagination"].get("next_max_tag_id")
        if cursor is None:
            break
        assert page["pagination"]["next_url"].endswith(f"max_tag_id={cursor}")
    # Ten rows (twice the page) read at most per request: five empty pages, then the photos.
    assert pages == [[], [], [], [], [], _ids(public, shown)]
    assert reads_per_page == [[10, 0]] * 5 + [[3, 0]]


def test_media_count_follows_privacy_bans_and_deletes(make_user) -> None:  # type: ignore[no-untyped-def]
    tag = _tag()
    alice, bob = make_user(name="alice"), make_user(name="bob")
    first, second = _photo(alice, tag), _photo(alice, tag)
    _photo(bob, tag)
    assert _counts(tag) == (3, 0)

    user_update_profile(user_id=alice.id, is_private=True)
    assert tags_owner_sync(owner_id=alice.id) == 2
    assert tags_owner_sync(owner_id=alice.id) == 0  # the job may run twice
    assert _counts(tag) == (1, 2)
    assert _get(f"/v1/tags/{tag}")["data"] == {"name": tag, "media_count": 1}
    assert "1 post<" in Client().get(f"/tags/{tag}/").content.decode()

    photo_delete(user_id=alice.id, photo_id=first)
    assert _counts(tag) == (1, 1)

    user_update_profile(user_id=alice.id, is_private=False)
    tags_owner_sync(owner_id=alice.id)
    assert _counts(tag) == (2, 0)
    _photo(alice, tag)  # posted while public: counted at once
    assert _counts(tag) == (3, 0)

    User.objects.filter(id=bob.id).update(is_active=False)
    tags_owner_sync(owner_id=bob.id)
    assert _counts(tag) == (2, 1)
    User.objects.filter(id=bob.id).update(is_active=True)
    tags_owner_sync(owner_id=bob.id)
    assert _counts(tag) == (3, 0)

    photo_delete(user_id=alice.id, photo_id=second)
    assert _counts(tag) == (2, 0)
    assert _counts(tag) == _rows_by_visibility(tag)


def test_a_tag_only_private_photos_carry_is_unknown_to_strangers(make_user) -> None:  # type: ignore[no-untyped-def]
    tag = _tag()
    secret = make_user(name="secret", private=True)
    _photo(secret, tag)
    assert _counts(tag) == (0, 1)
    answer = Client().get(f"/v1/tags/{tag}")
    assert answer.status_code == 404
    assert answer.json()["meta"]["error_message"] == "no photo carries this tag"
    assert _get("/v1/tags/search", q=tag)["data"] == []
    assert "No posts yet" in Client().get(f"/tags/{tag}/").content.decode()


def _jobs_settle(timeout: float = 15.0) -> None:
    """Wait until the test stack's worker has finished every job that is due."""
    import time

    import redis
    from django.conf import settings

    from tests.worker_queue import jobs_due

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    deadline = time.monotonic() + timeout
    while jobs_due(broker):
        assert time.monotonic() < deadline, "the worker did not finish its jobs in time"
        time.sleep(0.05)


def test_a_privacy_switch_reaches_the_counts_through_the_worker(make_user) -> None:  # type: ignore[no-untyped-def]
    tag = _tag()
    carol = make_user(name="carol")
    _photo(carol, tag)
    user_update_profile(user_id=carol.id, is_private=True)
    _jobs_settle()
    assert _counts(tag) == (0, 1)
    user_update_profile(user_id=carol.id, is_private=False)
    _jobs_settle()
    assert _counts(tag) == (1, 0)


def test_counts_stay_exact_while_posts_race_privacy_switches(make_user) -> None:  # type: ignore[no-untyped-def]
    tag = _tag()
    dana = make_user(name="dana")
    with user_shard(dana.id):
        photo_ids = [
            Photo.objects.create(user_id=dana.id, caption=f"#{tag}", tags=[tag]).id
            for _ in range(40)
        ]
    errors: list[BaseException] = []

    def post(ids: list[int]) -> None:
        try:
            for photo_id in ids:
                tags_index(photo_id=photo_id, owner_id=dana.id, tags=[tag])
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    def switch() -> None:
        try:
            for private in [True, False] * 10 + [True]:
                user_update_profile(user_id=dana.id, is_private=private)
                tags_owner_sync(owner_id=dana.id)  # what the job does after each switch
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(photo_ids[i::4],)) for i in range(4)]
    threads.append(threading.Thread(target=switch))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # Dana ends private: every row hidden, every count where its rows are, with no resync.
    assert _rows_by_visibility(tag) == (0, 40)
    assert _counts(tag) == (0, 40)


def test_only_the_owners_words_put_a_photo_on_a_tag(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    caption_tag, said, kept, foreign = _tag(), _tag(), _tag(), _tag()
    owner, stranger = make_user(name="owner"), make_user(name="stranger")
    photo_id = _photo(owner, caption_tag)

    hostile = comment_create(user_id=stranger.id, photo_id=photo_id, text=f"#{foreign} #{said}")
    assert not TagMedia.objects.filter(photo_id=photo_id, tag__in=[foreign, said]).exists()
    assert _get(f"/v1/tags/{foreign}/media/recent")["data"] == []
    assert Client().get(f"/v1/tags/{foreign}").status_code == 404

    first = comment_create(user_id=owner.id, photo_id=photo_id, text=f"#{said} and #{kept}")
    comment_create(user_id=owner.id, photo_id=photo_id, text=f"still #{kept}")
    tagged = set(TagMedia.objects.filter(photo_id=photo_id).values_list("tag", flat=True))
    assert tagged == {caption_tag, said, kept}
    assert [m["id"] for m in _get(f"/v1/tags/{said}/media/recent")["data"]] == [
        f"{photo_id}_{owner.id}"
    ]

    # The owner's first comment goes: #said with it, though the stranger's words still say it;
    # #kept stays on the owner's second comment.
    comment_delete(user_id=owner.id, photo_id=photo_id, comment_id=first.id)
    tagged = set(TagMedia.objects.filter(photo_id=photo_id).values_list("tag", flat=True))
    assert tagged == {caption_tag, kept}
    comment_delete(user_id=stranger.id, photo_id=photo_id, comment_id=hostile.id)
    tagged = set(TagMedia.objects.filter(photo_id=photo_id).values_list("tag", flat=True))
    assert tagged == {caption_tag, kept}
    assert _counts(said) == (0, 0)
    assert _counts(kept) == (1, 0)


def test_a_strangers_comment_with_the_captions_tag_leaves_it_when_deleted(make_user) -> None:  # type: ignore[no-untyped-def]
    tag = _tag()
    owner, stranger = make_user(name="owner"), make_user(name="stranger")
    photo_id = _photo(owner, tag)
    said = comment_create(user_id=stranger.id, photo_id=photo_id, text=f"#{tag} too")
    comment_delete(user_id=stranger.id, photo_id=photo_id, comment_id=said.id)
    assert list(TagMedia.objects.filter(photo_id=photo_id).values_list("tag", flat=True)) == [tag]
    assert _counts(tag) == (1, 0)


def test_a_photo_whose_owner_goes_private_mid_page_is_shown_once(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    """A page reads public then hidden rows in two statements; a switch between them moves the
    row from one range to the other, and it must not come back twice."""
    tag = _tag()
    star, fan = make_user(name="star"), make_user(name="fan")
    follow(follower_id=fan.id, target_id=star.id)
    photo_id = _photo(star, tag)
    switched: list[bool] = []

    def go_private_after_the_public_read(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        result = execute(sql, params, many, context)
        if "photos_tagmedia" in sql and not switched:
            switched.append(True)
            User.objects.filter(pk=star.id).update(is_private=True)
            tags_owner_sync(owner_id=star.id)  # commits: the next statement sees the move
        return result

    with connections["default"].execute_wrapper(go_private_after_the_public_read):
        page = _get(f"/v1/tags/{tag}/media/recent", token_for(fan))

    assert switched == [True]
    assert [m["id"] for m in page["data"]] == [f"{photo_id}_{star.id}"]
