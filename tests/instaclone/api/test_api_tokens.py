"""The token cache holds what a request reads, never the token itself or the password hash."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from oauth2_provider.models import AccessToken

from accounts.models import User
from instaclone.api.tokens import access_token_lookup, token_cache_key, token_checksum
from tests.cache_servers import raw_client

DATABASES = ["default", "shards_0", "shards_1"]
pytestmark = [pytest.mark.django_db(databases=DATABASES), pytest.mark.urls("v1_test_site")]

MakeToken = Callable[..., AccessToken]


def _raw_cached_values(raw_token: str) -> list[bytes]:
    """Return the bytes every Memcached server holds under the token's cache key."""
    key = cache.make_key(token_cache_key(token_checksum(raw_token)))
    held = []
    for server in settings.MEMCACHED_SERVERS:
        client = raw_client(server)
        try:
            value = client.get(key)
        finally:
            client.close()
        if value is not None:
            held.append(value)
    return held


def test_cached_token_holds_neither_the_token_nor_the_password_hash(
    client: Client, user: User, make_token: MakeToken
) -> None:
    token = make_token(user, scope="basic likes")
    raw = token.token

    first = client.get("/v1/users/self/whoami", HTTP_AUTHORIZATION=f"Bearer {raw}")
    second = client.get("/v1/users/self/whoami", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert first.status_code == second.status_code == 200
    assert second.json()["data"] == {"id": str(user.id), "username": user.username}
    (stored,) = _raw_cached_values(raw)
    assert raw.encode() not in stored
    assert user.password.encode() not in stored
    assert user.password.split("$")[-1].encode() not in stored  # not even the digest part


def test_token_from_the_cache_has_what_auth_reads(user: User, make_token: MakeToken) -> None:
    token = make_token(user, scope="basic likes")
    access_token_lookup(token.token)  # fills the cache

    cached = access_token_lookup(token.token)

    assert cached is not None
    assert (cached.pk, cached.user_id, cached.application_id, cached.scope, cached.expires) == (
        token.pk,
        user.pk,
        token.application_id,
        "basic likes",
        token.expires,
    )
    assert cached.user is not None
    assert (cached.user.username, cached.user.is_active) == (user.username, True)
    assert "password" in cached.user.get_deferred_fields()


def test_saving_a_user_rebuilt_from_the_cache_keeps_the_password(
    user: User, make_token: MakeToken
) -> None:
    token = make_token(user)
    access_token_lookup(token.token)
    cached = access_token_lookup(token.token)
    assert cached is not None and cached.user is not None

    cached.user.full_name = "Changed"
    cached.user.save()

    user.refresh_from_db()
    assert user.full_name == "Changed"
    assert user.check_password("correct horse battery staple")
