"""Fan-out on write, follows, unfollows, blocks and deletes, as the jobs apply them."""

from __future__ import annotations

import io

from django.test import override_settings
from PIL import Image

from accounts.services import graph
from feeds import services, store
from feeds.selectors import home_feed_entries


def _feed(user_id: int) -> list[int]:
    return [photo_id for photo_id, _ in home_feed_entries(user_id=user_id, count=500)]


def test_a_post_reaches_the_author_and_every_follower_with_a_feed(people, post_row, edge) -> None:  # type: ignore[no-untyped-def]
    author, reader, other, stranger = people(4)
    edge(reader.id, author.id)
    edge(other.id, author.id)
    assert _feed(reader.id) == []  # builds (empty) feeds
    assert _feed(author.id) == []
    photo = post_row(author)
    assert services.photo_fanout(photo_id=photo, owner_id=author.id) is None
    assert _feed(reader.id) == [photo]
    assert _feed(author.id) == [photo]
    assert store.feed_floor(other.id) is None  # never read: nothing stored for it
    assert _feed(other.id) == [photo]  # rebuilt from Postgres instead
    assert _feed(stranger.id) == []
    # The job may run twice.
    services.photo_fanout(photo_id=photo, owner_id=author.id)
    assert _feed(reader.id) == [photo]


def test_a_post_reaches_an_earlier_follower_through_the_worker(people, edge, jobs_settle) -> None:  # type: ignore[no-untyped-def]
    from photos.services.upload import photo_create

    author, reader = people(2)
    edge(reader.id, author.id)
    assert _feed(reader.id) == []
    # The feed is stored now, so reading it again cannot rebuild it from Postgres: only the
    # worker's feeds.photo_posted job, sent by the real upload, can put the photo there.
    assert store.feed_floor(reader.id) is not None
    image = io.BytesIO()
    Image.new("RGB", (320, 320), (120, 60, 200)).save(image, "JPEG")
    posted = photo_create(user_id=author.id, data=image.getvalue(), caption="for my followers")
    jobs_settle()
    assert store.feed_members(reader.id) == [(posted.photo_id, author.id)]
    assert _feed(reader.id) == [posted.photo_id]


def test_a_private_account_reaches_only_approved_followers(people, post_row, edge) -> None:  # type: ignore[no-untyped-def]
    (owner,) = people(1, private=True)
    approved, asking = people(2)
    edge(approved.id, owner.id)
    graph.follow(follower_id=asking.id, target_id=owner.id)  # a request, not an edge
    for user in (approved, asking):
        _feed(user.id)
    photo = post_row(owner)
    services.photo_fanout(photo_id=photo, owner_id=owner.id)
    assert _feed(approved.id) == [photo]
    assert _feed(asking.id) == []


@override_settings(FEED_FANOUT_BATCH=2)
def test_fan_out_goes_in_batches_until_every_follower_is_reached(people, post_row, edge) -> None:  # type: ignore[no-untyped-def]
    author, *followers = people(6)
    for follower in followers:
        edge(follower.id, author.id)
        _feed(follower.id)
    photo = post_row(author)
    after, batches = 0, 0
    while True:
        batches += 1
        last = services.photo_fanout(photo_id=photo, owner_id=author.id, after=after)
        if last is None:
            break
        after = last
    assert batches == 3  # 2 + 2 + 1 followers
    assert all(_feed(follower.id) == [photo] for follower in followers)


def test_following_backfills_and_unfollowing_removes(people, post_row, edge) -> None:  # type: ignore[no-untyped-def]
    author, reader = people(2)
    older = [post_row(author) for _ in range(3)]
    _feed(reader.id)
    graph.follow(follower_id=reader.id, target_id=author.id)
    services.follow_sync(follower_id=reader.id, target_id=author.id)
    assert _feed(reader.id) == older[::-1]
    graph.unfollow(follower_id=reader.id, target_id=author.id)
    services.follow_sync(follower_id=reader.id, target_id=author.id)
    assert store.feed_members(reader.id) == []


def test_a_block_empties_both_feeds_of_the_other(people, post_row, edge) -> None:  # type: ignore[no-untyped-def]
    one, two = people(2)
    edge(one.id, two.id)
    edge(two.id, one.id)
    mine, theirs = post_row(one), post_row(two)
    _feed(one.id)
    _feed(two.id)
    assert set(_feed(one.id)) == {mine, theirs}
    graph.block(blocker_id=one.id, target_id=two.id)
    services.follow_sync(follower_id=one.id, target_id=two.id)
    services.follow_sync(follower_id=two.id, target_id=one.id)
    assert _feed(one.id) == [mine]
    assert _feed(two.id) == [theirs]


def test_deleted_photo_leaves_feeds_for_good(people, post_row, edge) -> None:  # type: ignore[no-untyped-def]
    from photos.services.comments import photo_delete

    author, reader = people(2)
    edge(reader.id, author.id)
    _feed(reader.id)
    kept, gone = post_row(author), post_row(author)
    for photo in (kept, gone):
        services.photo_fanout(photo_id=photo, owner_id=author.id)
    photo_delete(user_id=author.id, photo_id=gone)
    services.photo_unfan(photo_id=gone, owner_id=author.id)
    assert _feed(reader.id) == [kept]
    services.photo_fanout(photo_id=gone, owner_id=author.id)  # a late duplicate of the job
    assert _feed(reader.id) == [kept]


def test_one_is_never_dropped_from_ones_own_feed(people, post_row) -> None:  # type: ignore[no-untyped-def]
    (user,) = people(1)
    photo = post_row(user)
    assert _feed(user.id) == [photo]
    services.follow_sync(follower_id=user.id, target_id=user.id)
    assert _feed(user.id) == [photo]
