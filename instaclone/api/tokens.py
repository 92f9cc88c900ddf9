"""Access-token look-ups for the API: one query with the user, cached briefly in Memcached.

The cache is keyed by the token's SHA-256 (the toolkit's ``token_checksum``), so neither the
cache keys nor the database index hold a usable token. The cached value holds only what a
request reads: the token's ID, scope, expiry and application, and the user's fields except the
password hash; never the token itself (the toolkit leaves its column blank, hashed storage) nor
the hash. The objects rebuilt from it leave the other columns deferred, so reading one loads it
and saving one writes only the cached columns. Deleting or changing a token, or saving its user
(a ban clears ``is_active``), drops the cached copy at once and again after the transaction
commits, so a revoked token or a banned user stops working immediately rather than when the
entry expires.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from oauth2_provider.models import get_access_token_model
from oauth2_provider.settings import oauth2_settings

from instaclone.sharding.topology import USERS_ALIAS

if TYPE_CHECKING:
    from oauth2_provider.models import AbstractAccessToken

# Short enough that anything the receivers below cannot see (a raw UPDATE) heals quickly.
TOKEN_CACHE_SECONDS = 60
# Tokens the toolkit issues are 30 characters; anything this long is not one of ours.
MAX_TOKEN_LENGTH = 512
# v2: the entry became plain values instead of the pickled token with its user.
_KEY_PREFIX = "api:token:v2:"
_TOKEN_FIELDS = ("id", "token_checksum", "user_id", "application_id", "scope", "expires")
# The password hash never leaves the users database.
_USER_EXCLUDED = frozenset({"password"})
# Cached for unknown tokens too, so a flood of made-up tokens does not reach Postgres.
_UNKNOWN = "unknown"


def token_checksum(raw: str) -> str:
    """Return the SHA-256 hex digest the toolkit stores as ``token_checksum``."""
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def token_cache_key(checksum: str) -> str:
    """Return the cache key of the token whose SHA-256 is ``checksum``."""
    return _KEY_PREFIX + checksum


def access_token_lookup(raw: str) -> AbstractAccessToken | None:
    """Return the stored token for ``raw`` with its user loaded, or None when there is none.

    The caller checks expiry, scopes and the user's state; the cached copy may be up to
    ``TOKEN_CACHE_SECONDS`` old for changes the receivers cannot see.
    """
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        return None
    checksum = token_checksum(raw)
    key = token_cache_key(checksum)
    cached = cache.get(key)
    if cached == _UNKNOWN:
        return None
    if isinstance(cached, dict):
        return _token_from_entry(cached)
    model = get_access_token_model()
    user_fields = _user_fields()
    found = (
        model.objects.select_related("user")
        .only(*_TOKEN_FIELDS, *(f"user__{name}" for name in user_fields))
        .filter(token_checksum=checksum)
        .first()
    )
    cache.set(key, _UNKNOWN if found is None else _entry(found, user_fields), TOKEN_CACHE_SECONDS)
    return found


def _user_fields() -> tuple[str, ...]:
    return tuple(
        field.attname
        for field in get_user_model()._meta.concrete_fields
        if field.attname not in _USER_EXCLUDED
    )


def _entry(token: AbstractAccessToken, user_fields: tuple[str, ...]) -> dict[str, Any]:
    user = token.user
    return {
        "token": {name: getattr(token, name) for name in _TOKEN_FIELDS},
        "user": None if user is None else {name: getattr(user, name) for name in user_fields},
    }


def _rebuilt(model: Any, values: dict[str, Any]) -> Any:
    # from_db takes the values in the model's column order and marks every column left out as
    # deferred: reading one loads it, and save() writes only the loaded columns, so a rebuilt
    # user never saves an empty password over the real one.
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(USERS_ALIAS, names, [values[name] for name in names])


def _token_from_entry(entry: dict[str, Any]) -> AbstractAccessToken:
    token: AbstractAccessToken = _rebuilt(get_access_token_model(), entry["token"])
    if entry["user"] is not None:
        token.user = _rebuilt(get_user_model(), entry["user"])
    return token


def tokens_forget(checksums: Iterable[str], *, using: str) -> None:
    """Drop cached tokens now and once more after the current transaction on ``using`` commits.

    The second drop covers a request that read the old row just before the commit and cached it.
    """
    keys = [token_cache_key(checksum) for checksum in checksums if checksum]
    if not keys:
        return
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys), using=using)


def _token_changed(sender: type, instance: AbstractAccessToken, **kwargs: Any) -> None:
    tokens_forget([instance.token_checksum], using=instance._state.db or "default")


def _user_saved(sender: type, instance: Any, **kwargs: Any) -> None:
    update_fields = kwargs.get("update_fields")
    # Logging in touches only last_login, which no cached token's checks read.
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    if kwargs.get("created"):
        return
    model = get_access_token_model()
    checksums = model.objects.filter(user_id=instance.pk).values_list("token_checksum", flat=True)
    tokens_forget(list(checksums), using=instance._state.db or "default")


def connect_token_cache_receivers() -> None:
    """Keep the token cache in step with token and user changes (idempotent)."""
    token_model = oauth2_settings.ACCESS_TOKEN_MODEL
    post_save.connect(_token_changed, sender=token_model, dispatch_uid="api-token-cache-save")
    post_delete.connect(_token_changed, sender=token_model, dispatch_uid="api-token-cache-delete")
    post_save.connect(
        _user_saved, sender=settings.AUTH_USER_MODEL, dispatch_uid="api-token-cache-user"
    )
