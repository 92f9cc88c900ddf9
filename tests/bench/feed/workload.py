"""What the feed benchmark reads and how much data it builds, shared by its parts."""

from __future__ import annotations

FEED_PATH = "/v1/users/self/feed?count=30"
PING_PATH = "/v1/ping"
FEED_COUNT = 30

GROWTH = (10, 100, 1000)  # followees of the three readers
HTTP_FOLLOWEES = 100  # the reader loaded through nginx
PHOTOS_PER_FOLLOWEE = 4  # 10 followees x 4 > 30: every feed is full
MAX_LIKES = 6
MAX_COMMENTS = 3

FANOUT_FOLLOWERS = 10_000

NAIVE_PHOTO = "bench_naive_photo"
NAIVE_FOLLOW = "bench_naive_follow"
