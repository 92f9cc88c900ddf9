"""Part 3: one photo fanned out to 10,000 stored feeds, against one ZADD per follower."""

from __future__ import annotations

import statistics

from django.conf import settings

from tests.bench.feed.data import Made, make_users
from tests.bench.feed.workload import FANOUT_FOLLOWERS
from tests.bench.harness import Row, interleave, time_ratio, timed

FANOUT_ROUNDS = 7
GOAL_FANOUT_US = 10.0


def fanout(made: Made) -> tuple[list[Row], list[str]]:
    from accounts.models import Follower
    from accounts.models.graph import EdgeStatus
    from feeds import store
    from feeds.services import photo_fanout
    from instaclone.sharding.connections import user_shard
    from instaclone.sharding.redis_client import redis_client
    from photos.models import Photo

    (owner,) = make_users(made, 1, "owner")
    followers = make_users(made, FANOUT_FOLLOWERS, "fan")
    made.feeds.extend([owner, *followers])
    with user_shard(owner) as target:
        Follower.objects.bulk_create(
            [Follower(user_id=owner, follower_id=f, status=EdgeStatus.ACTIVE) for f in followers],
            batch_size=2000,
        )
        photos = [Photo.objects.create(user_id=owner) for _ in range(FANOUT_ROUNDS + 1)]
    made.photos.setdefault(target.shard, []).extend(photo.id for photo in photos)
    # What feed_build_begin + feed_install(u, [], floor=0) leave: an empty feed, floor 0.
    redis = redis_client()
    ttl = settings.FEED_TTL_SECONDS
    for start in range(0, len(followers), 1000):
        pipe = redis.pipeline(transaction=False)
        for user_id in followers[start : start + 1000]:
            base = f"feed:{user_id}"
            pipe.delete(base, f"{base}:pending", f"{base}:building")
            pipe.set(f"{base}:floor", (0).to_bytes(8, "big"), ex=ttl)
        pipe.execute()
    store.feed_build_begin(owner)
    store.feed_install(owner, [], floor=0)
    if store.feed_floor(followers[-1]) != 0:
        raise RuntimeError("the followers' feeds were not stored")

    pending = iter(photos)

    def fan() -> None:
        photo_id = next(pending).id
        after = 0  # as feeds.tasks.photo_posted: continue from the last follower written
        while (last := photo_fanout(photo_id=photo_id, owner_id=owner, after=after)) is not None:
            after = last

    fake = iter(range(1, 10_000))

    def naive() -> None:
        member = store.pack(photos[-1].id + next(fake), owner)
        for user_id in followers:
            redis.zadd(f"feed:{user_id}", {member: 0})

    times = interleave(
        {"fanout": lambda: timed(fan), "naive": lambda: timed(naive)}, rounds=FANOUT_ROUNDS
    )
    subject_ids = {photo.id for photo in photos}
    reached = sum(
        1
        for user_id in followers[:: FANOUT_FOLLOWERS // 100]
        if subject_ids <= {photo_id for photo_id, _ in store.feed_members(user_id)}
    )
    sampled = len(followers[:: FANOUT_FOLLOWERS // 100])
    ratio = time_ratio(times["fanout"], times["naive"])
    per = statistics.median(times["fanout"]) / FANOUT_FOLLOWERS * 1e6
    naive_per = statistics.median(times["naive"]) / FANOUT_FOLLOWERS * 1e6
    batches = -(-FANOUT_FOLLOWERS // settings.FEED_FANOUT_BATCH)
    row = Row.measured(
        f"fan-out: one photo to {FANOUT_FOLLOWERS:,} stored feeds",
        f"photo_fanout over {batches} batches: {per:.2f} µs/follower",
        f"one ZADD round trip per follower: {naive_per:.2f} µs/follower",
        ratio,
        goal=f"<= {GOAL_FANOUT_US:g} µs/follower",
        # A fan-out that wrote nothing would be fast too: every sampled feed must hold the photos.
        met=per <= GOAL_FANOUT_US and reached == sampled,
        fanout_s=times["fanout"],
        naive_s=times["naive"],
    )
    notes = [
        f"Fan-out: {FANOUT_FOLLOWERS:,} followers (Follower rows on the owner's shard), each "
        "with a stored empty feed (what feed_build_begin + feed_install(u, [], floor=0) leave, "
        f"written pipelined); each round fans one new photo out through `photo_fanout` over "
        f"every batch of {settings.FEED_FANOUT_BATCH} (the continuation of "
        "feeds.tasks.photo_posted, in this process, no Celery hop), against a loop of one "
        f"non-pipelined ZADD per follower on the same keys; {FANOUT_ROUNDS} interleaved "
        "rounds after a warm-up one. The ratio is fan-out time over the ZADD loop's; the goal "
        "is on the absolute µs per follower. The ZADD loop does less per feed (no floor check, "
        f"no EXPIRE, no trim). Sampled feeds holding every photo of the run: {reached}/{sampled}.",
    ]
    return [row], notes
