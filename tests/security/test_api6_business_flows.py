"""OWASP API6, unrestricted access to sensitive business flows: spam stops at the hourly limit.

Likes, comments, follows and posts have no limit of their own; the API's hourly allowance per
token is what bounds a script driving them. Over it, each is refused before it runs and stores
nothing. (Sign-up, password reset and email change have their own limits, tested in
tests/accounts/test_limits.py and tests/accounts/test_email_change.py.)
"""

from __future__ import annotations

import io

from django.test import Client, override_settings
from PIL import Image

from accounts.selectors.graph import user_counts
from instaclone.sharding.connections import photo_shard
from photos.models import Comment, Like
from photos.services.upload import photo_create

LIMITED = {
    "code": 429,
    "error_type": "OAuthRateLimitException",
    "error_message": "The maximum number of requests per hour has been exceeded.",
}


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 320), (200, 30, 120)).save(out, "JPEG")
    return out.getvalue()


@override_settings(API_RATE_LIMIT_PER_HOUR=3)
def test_like_comment_follow_and_post_spam_stops_at_the_hourly_limit(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    spammer, owner, other = make_user(name="spam"), make_user(name="own"), make_user(name="oth")
    first, second = (photo_create(user_id=owner.id, data=_jpeg()).photo_id for _ in range(2))
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(spammer)}"}
    allowed = [
        Client().post(f"/v1/media/{first}/likes", **auth),
        Client().post(f"/v1/media/{first}/comments", {"text": "buy now"}, **auth),
        Client().post(f"/v1/users/{owner.id}/relationship", {"action": "follow"}, **auth),
    ]
    assert [answer.status_code for answer in allowed] == [200, 200, 200]
    upload = io.BytesIO(_jpeg())
    upload.name = "spam.jpg"

    refused = [
        Client().post(f"/v1/media/{second}/likes", **auth),
        Client().post(f"/v1/media/{second}/comments", {"text": "buy now"}, **auth),
        Client().post(f"/v1/users/{other.id}/relationship", {"action": "follow"}, **auth),
        Client().post("/v1/media/upload", {"photo": upload}, **auth),
    ]

    for answer in refused:
        assert answer.status_code == 429
        assert answer.json() == {"meta": LIMITED}
    with photo_shard(second):
        assert Like.objects.filter(photo_id=second).count() == 0
        assert Comment.objects.filter(photo_id=second).count() == 0
    assert user_counts(user_id=other.id)["followed_by"] == 0
    assert user_counts(user_id=spammer.id) == {"media": 0, "follows": 1, "followed_by": 0}
