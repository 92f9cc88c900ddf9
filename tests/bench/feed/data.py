"""Make and delete the feed benchmark's users, follows, photos with likes and comments, tokens."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connections

from tests.bench.feed.workload import MAX_COMMENTS, MAX_LIKES, NAIVE_FOLLOW, NAIVE_PHOTO


@dataclass
class Made:
    """What the benchmark created, so the end can delete exactly that."""

    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    users: list[int] = field(default_factory=list)
    photos: dict[int, list[int]] = field(default_factory=dict)  # logical shard -> photo IDs
    feeds: list[int] = field(default_factory=list)
    app_id: int | None = None
    naive_tables: bool = False


def _by_shard(user_ids: Iterable[int]) -> dict[int, list[int]]:
    from instaclone.sharding.connections import shard_for_user

    grouped: dict[int, list[int]] = {}
    for user_id in user_ids:
        grouped.setdefault(shard_for_user(user_id), []).append(user_id)
    return grouped


def make_users(made: Made, count: int, label: str) -> list[int]:
    """Bulk-insert ``count`` active public users in the users database; return their IDs."""
    from accounts.models import User

    users = [
        User(username=f"bf{made.tag}{label}{i}", password="!", full_name=f"Bench {label} {i}")
        for i in range(count)
    ]
    created = User.objects.bulk_create(users, batch_size=2000)
    ids = [user.id for user in created]
    made.users.extend(ids)
    return ids


def follow(readers_followees: dict[int, Sequence[int]]) -> None:
    """Insert approved edges: Following on the follower's shard, Follower on the followee's."""
    from accounts.models import Follower, Following
    from accounts.models.graph import EdgeStatus
    from instaclone.sharding.connections import use_shard

    active = EdgeStatus.ACTIVE
    for reader, followees in readers_followees.items():
        with use_shard(_shard(reader)):
            Following.objects.bulk_create(
                [Following(user_id=reader, target_id=t, status=active) for t in followees],
                batch_size=2000,
            )
        for shard, targets in _by_shard(followees).items():
            with use_shard(shard):
                Follower.objects.bulk_create(
                    [Follower(user_id=t, follower_id=reader, status=active) for t in targets],
                    batch_size=2000,
                )


def _shard(user_id: int) -> int:
    from instaclone.sharding.connections import shard_for_user

    return shard_for_user(user_id)


def post_photos(
    made: Made, owners: Sequence[int], *, rounds: int, likers: Sequence[int], fan: int
) -> list[tuple[int, int]]:
    """Post ``rounds`` photos per owner (round by round, so the newest mix many owners), with
    likes and comments from ``likers`` (``fan`` likes about a fifth); return (id, owner)."""
    from instaclone.sharding.connections import target_for_shard, use_shard
    from photos.models import Comment, Like
    from photos.storage import media_prefix

    rng = random.Random(7)
    posted: list[tuple[int, int]] = []
    grouped = _by_shard(owners)
    for index in range(rounds):
        for shard, shard_owners in grouped.items():
            plan = []
            for owner in shard_owners:
                who = rng.sample(likers, rng.randrange(MAX_LIKES + 1))
                if rng.random() < 0.2 and fan not in who:
                    who.append(fan)
                said = [rng.choice(likers) for _ in range(rng.randrange(MAX_COMMENTS + 1))]
                plan.append((owner, who, said))
            target = target_for_shard(shard)
            with connections[target.alias].cursor() as cursor:
                # Raw INSERT ... RETURNING: bulk_create does not read next_id() back.
                cursor.execute(
                    f"INSERT INTO {target.schema}.photos_photo (user_id, caption, filter_name, "
                    "media_key, tags, mentions, location_name, like_count, comment_count) "
                    "SELECT o, 'bench photo ' || %s || ' of ' || o || ' #bench', 'Amaro', '', "
                    "'{bench}', '{}', '', l, c "
                    "FROM unnest(%s::bigint[], %s::int[], %s::int[]) AS t(o, l, c) "
                    "RETURNING id, user_id",
                    [
                        index,
                        [owner for owner, _, _ in plan],
                        [len(who) for _, who, _ in plan],
                        [len(said) for _, _, said in plan],
                    ],
                )
                ids = {owner: photo_id for photo_id, owner in cursor.fetchall()}
                made.photos.setdefault(shard, []).extend(ids.values())
                photo_ids = [ids[owner] for owner, _, _ in plan]
                cursor.execute(
                    f"UPDATE {target.schema}.photos_photo p SET media_key = k "
                    "FROM unnest(%s::bigint[], %s::text[]) AS t(i, k) WHERE p.id = i",
                    [photo_ids, [media_prefix(photo_id) for photo_id in photo_ids]],
                )
            with use_shard(shard):
                Like.objects.bulk_create(
                    [
                        Like(photo_id=photo_id, user_id=u)
                        for photo_id, (_, who, _) in zip(photo_ids, plan, strict=True)
                        for u in who
                    ]
                )
                Comment.objects.bulk_create(
                    [
                        Comment(photo_id=photo_id, user_id=u, text=f"nice one {n}")
                        for photo_id, (_, _, said) in zip(photo_ids, plan, strict=True)
                        for n, u in enumerate(said)
                    ]
                )
            posted.extend((ids[owner], owner) for owner, _, _ in plan)
    return posted


def issue_tokens(made: Made, user_ids: Sequence[int]) -> dict[int, str]:
    """Issue one Bearer token per user under one client application."""
    from django.utils import timezone
    from oauth2_provider.models import AccessToken, Application

    app = Application.objects.create(
        name=f"bench-feed-{made.tag}",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_PASSWORD,
    )
    made.app_id = app.id
    tokens = {user_id: secrets.token_urlsafe(24) for user_id in user_ids}
    AccessToken.objects.bulk_create(
        [
            AccessToken(
                user_id=user_id,
                application=app,
                token=token,
                scope="basic",
                expires=timezone.now() + timedelta(hours=2),
            )
            for user_id, token in tokens.items()
        ]
    )
    return tokens


def cleanup(made: Made) -> None:
    """Delete every feed, row, table and user the run made (raw SQL: fast, no signals).

    Every step runs even when an earlier one fails (the shared test stack can lose a schema
    under us); the failures are raised together at the end.
    """
    from oauth2_provider.models import AccessToken, Application

    from feeds import store
    from instaclone.sharding.connections import target_for_shard

    failures: list[str] = []

    def step(what: str, work: Callable[[], object]) -> None:
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - carry on deleting, report at the end
            failures.append(f"{what}: {exc}".strip())

    def forget_feeds() -> None:
        for user_id in made.feeds:
            store.feed_forget(user_id)

    def delete_on(shard: int, photo_ids: list[int], user_ids: list[int]) -> None:
        target = target_for_shard(shard)
        with connections[target.alias].cursor() as cursor:
            for table in ("photos_like", "photos_comment"):
                cursor.execute(
                    f"DELETE FROM {target.schema}.{table} WHERE photo_id = ANY(%s)", [photo_ids]
                )
            cursor.execute(
                f"DELETE FROM {target.schema}.photos_photo WHERE id = ANY(%s)", [photo_ids]
            )
            for table in ("accounts_following", "accounts_follower"):
                cursor.execute(
                    f"DELETE FROM {target.schema}.{table} WHERE user_id = ANY(%s)", [user_ids]
                )

    def drop_naive() -> None:
        with connections["default"].cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {NAIVE_PHOTO}, {NAIVE_FOLLOW}")

    def delete_app() -> None:
        AccessToken.objects.filter(application_id=made.app_id).delete()
        Application.objects.filter(id=made.app_id).delete()

    def delete_users() -> None:
        with connections["default"].cursor() as cursor:
            cursor.execute("DELETE FROM accounts_user WHERE id = ANY(%s)", [made.users])

    step("feeds", forget_feeds)
    users_by_shard = _by_shard(made.users)
    for shard in sorted(set(users_by_shard) | set(made.photos)):
        photo_ids = made.photos.get(shard, [])
        user_ids = users_by_shard.get(shard, [])
        step(f"shard {shard}", lambda s=shard, p=photo_ids, u=user_ids: delete_on(s, p, u))
    if made.naive_tables:
        step("naive tables", drop_naive)
    if made.app_id is not None:
        step("tokens", delete_app)
    step("users", delete_users)
    if failures:
        raise RuntimeError("clean-up incomplete: " + "; ".join(failures))
