"""Home feeds in Redis: one sorted set per user, newest photo IDs first, with a floor.

Members are 16 bytes, the photo ID then the owner's user ID, both big-endian, all with score 0:
Redis orders equal scores by the bytes, which is the order of the photo IDs (they sort by
time), and the owner travels along so the cache reads and the "drop this owner" edits need no
lookup. A feed is a set of members above its *floor*: every photo of the people the user follows
(and their own) newer than the floor is in it, and nothing older, so a feed rebuilt from
Postgres is the same set. The floor key also says whether the feed exists at all.

While a feed is being rebuilt, new photos fanned out to it (and a new followee's backfill)
wait in a pending set that the rebuild merges in; an unfollow, block or delete meanwhile
cancels the rebuild's install instead, so nothing stale is installed. Keys per user:
``feed:<id>`` (the set), ``:floor``, ``:pending``, ``:building``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from redis.commands.core import Script

from instaclone.sharding.redis_client import redis_client

BUILD_SECONDS = 30
PENDING_SECONDS = 60
_ID = 8

# "a > b" for the IDs at the start of two strings, as two 32-bit halves: Lua's own string
# comparison follows the server's locale, and its numbers are doubles (53 bits).
_GT = """
local function gt(a, b)
  local ah, al = struct.unpack('>I4I4', a)
  local bh, bl = struct.unpack('>I4I4', b)
  return ah > bh or (ah == bh and al > bl)
end
local function trim(feed, floor, cap)
  local size = redis.call('ZCARD', feed)
  if size > cap then
    local gone = redis.call('ZRANGE', feed, 0, size - cap - 1)
    redis.call('ZREMRANGEBYRANK', feed, 0, size - cap - 1)
    redis.call('SET', floor, string.sub(gone[#gone], 1, 8), 'KEEPTTL')
  end
end
"""

# KEYS: each user's feed. ARGV: member, cap, pending TTL, feed TTL. Adds one photo to each
# existing feed above its floor; a feed being built gets it in its pending set. The other keys
# of a user are named from the feed's (one Redis server; nothing is clustered).
_ADD = (
    _GT
    + """
local member, cap, added = ARGV[1], tonumber(ARGV[2]), 0
local mh, ml = struct.unpack('>I4I4', member)
for _, feed in ipairs(KEYS) do
  local floor = redis.call('GET', feed .. ':floor')
  if floor then
    local fh, fl = struct.unpack('>I4I4', floor)
    if mh > fh or (mh == fh and ml > fl) then
      redis.call('ZADD', feed, 0, member)
      local size = redis.call('ZCARD', feed)
      if size == 1 then
        redis.call('EXPIRE', feed, tonumber(ARGV[4]))  -- the set had emptied and gone: anew
      elseif size > cap then
        trim(feed, feed .. ':floor', cap)
      end
      added = added + 1
    end
  elseif redis.call('EXISTS', feed .. ':building') == 1 then
    redis.call('ZADD', feed .. ':pending', 0, member)
    redis.call('EXPIRE', feed .. ':pending', tonumber(ARGV[3]))
  end
end
return added
"""
)

# KEYS: feed, floor, pending, building. ARGV: cap, feed TTL, pending TTL, members... Adds a
# followee's recent photos above the floor; a feed being rebuilt (which may have read the follows
# before this one) gets them in its pending set, like fanned-out posts.
_BACKFILL = (
    _GT
    + """
local floor = redis.call('GET', KEYS[2])
if not floor then
  if redis.call('EXISTS', KEYS[4]) == 1 and #ARGV > 3 then
    for i = 4, #ARGV do redis.call('ZADD', KEYS[3], 0, ARGV[i]) end
    redis.call('EXPIRE', KEYS[3], tonumber(ARGV[3]))
  end
  return 0
end
local cap, added = tonumber(ARGV[1]), 0
for i = 4, #ARGV do
  if gt(ARGV[i], floor) then
    redis.call('ZADD', KEYS[1], 0, ARGV[i])
    added = added + 1
  end
end
if added > 0 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2])) end
trim(KEYS[1], KEYS[2], cap)
return added
"""
)

# KEYS: feed, building. ARGV: owner (8 bytes). Drops an owner's photos; cancels a rebuild.
_DROP_OWNER = """
redis.call('DEL', KEYS[2])
local dropped = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(member, 9, 16) == ARGV[1] then
    redis.call('ZREM', KEYS[1], member)
    dropped = dropped + 1
  end
end
return dropped
"""

# KEYS: feed, building per user. ARGV: member. Drops one photo from each feed.
_DROP_MEMBER = """
for i = 1, #KEYS, 2 do
  redis.call('ZREM', KEYS[i], ARGV[1])
  redis.call('DEL', KEYS[i + 1])
end
return 1
"""

# KEYS: feed, floor, pending, building. ARGV: cap, ttl, floor, members... Installs a rebuilt
# feed unless its build was cancelled (or never marked), merging what arrived meanwhile.
_INSTALL = (
    _GT
    + """
if redis.call('EXISTS', KEYS[4]) == 0 then return 0 end
local cap, ttl, floor = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
redis.call('DEL', KEYS[1])
for i = 4, #ARGV do redis.call('ZADD', KEYS[1], 0, ARGV[i]) end
for _, member in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  if gt(member, floor) then redis.call('ZADD', KEYS[1], 0, member) end
end
redis.call('DEL', KEYS[3], KEYS[4])
redis.call('SET', KEYS[2], floor, 'EX', ttl)
trim(KEYS[1], KEYS[2], cap)
redis.call('EXPIRE', KEYS[1], ttl)
return 1
"""
)


@dataclass(frozen=True, slots=True)
class FeedPage:
    """Entries of a stored feed, newest first; ``exists`` is False when it must be rebuilt."""

    exists: bool
    entries: list[tuple[int, int]]


def pack(photo_id: int, owner_id: int) -> bytes:
    """Return the member of one photo."""
    return photo_id.to_bytes(_ID, "big") + owner_id.to_bytes(_ID, "big")


def unpack(member: bytes) -> tuple[int, int]:
    """Return (photo ID, owner ID) of a member."""
    return int.from_bytes(member[:_ID], "big"), int.from_bytes(member[_ID:], "big")


def _keys(user_id: int) -> tuple[str, str, str, str]:
    base = f"feed:{user_id}"
    return base, f"{base}:floor", f"{base}:pending", f"{base}:building"


@functools.cache
def _script(source: str) -> Script:
    return redis_client().register_script(source)


def feed_read(
    user_id: int, *, count: int, max_id: int | None = None, min_id: int | None = None
) -> FeedPage:
    """Read up to ``count`` entries below ``max_id`` and above ``min_id``: one round trip."""
    feed, floor, _, _ = _keys(user_id)
    high = b"(" + max_id.to_bytes(_ID, "big") if max_id is not None else b"+"
    low = b"(" + min_id.to_bytes(_ID, "big") + b"\xff" * _ID if min_id is not None else b"-"
    ttl = settings.FEED_TTL_SECONDS
    pipe = redis_client().pipeline(transaction=False)
    pipe.zrevrangebylex(feed, high, low, start=0, num=count)
    pipe.expire(floor, ttl)
    pipe.expire(feed, ttl)
    members, exists, _ = pipe.execute()
    return FeedPage(exists=bool(exists), entries=[unpack(m) for m in members])


def feed_members(user_id: int) -> list[tuple[int, int]]:
    """Return every entry of a stored feed, newest first (for checks and tests)."""
    return [unpack(m) for m in redis_client().zrevrange(_keys(user_id)[0], 0, -1)]


def feed_floor(user_id: int) -> int | None:
    """Return a stored feed's floor, or None when the feed does not exist."""
    raw = redis_client().get(_keys(user_id)[1])
    return None if raw is None else int.from_bytes(raw, "big")


def feeds_add(user_ids: Sequence[int], *, photo_id: int, owner_id: int) -> int:
    """Add one photo to the existing feeds of ``user_ids``; return how many took it."""
    keys = [_keys(user_id)[0] for user_id in user_ids]
    if not keys:
        return 0
    return int(
        _script(_ADD)(
            keys=keys,
            args=[
                pack(photo_id, owner_id),
                settings.FEED_SIZE,
                PENDING_SECONDS,
                settings.FEED_TTL_SECONDS,
            ],
        )
    )


def feed_backfill(user_id: int, entries: Iterable[tuple[int, int]]) -> int:
    """Add a followee's photos to a user's feed (if it exists) above its floor."""
    members = [pack(photo_id, owner_id) for photo_id, owner_id in entries]
    args = [settings.FEED_SIZE, settings.FEED_TTL_SECONDS, PENDING_SECONDS, *members]
    return int(_script(_BACKFILL)(keys=list(_keys(user_id)), args=args))


def feed_drop_owner(user_id: int, owner_id: int) -> int:
    """Remove an owner's photos from a user's feed; return how many went."""
    feed, _, _, building = _keys(user_id)
    return int(_script(_DROP_OWNER)(keys=[feed, building], args=[owner_id.to_bytes(_ID, "big")]))


def feeds_drop_photo(user_ids: Sequence[int], *, photo_id: int, owner_id: int) -> None:
    """Remove one photo from the feeds of ``user_ids``."""
    keys = [key for user_id in user_ids for key in _keys(user_id)[::3]]
    if keys:
        _script(_DROP_MEMBER)(keys=keys, args=[pack(photo_id, owner_id)])


def feed_build_begin(user_id: int) -> None:
    """Mark a feed as being rebuilt, so photos fanned out meanwhile are kept for it."""
    redis_client().set(_keys(user_id)[3], b"1", ex=BUILD_SECONDS)


def feed_install(user_id: int, entries: Sequence[tuple[int, int]], *, floor: int) -> bool:
    """Store a rebuilt feed unless its build was cancelled; return whether it was stored."""
    members = [pack(photo_id, owner_id) for photo_id, owner_id in entries]
    args = [settings.FEED_SIZE, settings.FEED_TTL_SECONDS, floor.to_bytes(_ID, "big"), *members]
    return bool(_script(_INSTALL)(keys=list(_keys(user_id)), args=args))


def feed_forget(user_id: int) -> None:
    """Delete a stored feed; the next read rebuilds it."""
    redis_client().delete(*_keys(user_id))
