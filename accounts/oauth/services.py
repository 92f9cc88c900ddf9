"""Writes on a user's OAuth credentials."""

from __future__ import annotations

from django.db import transaction
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from instaclone.sharding.topology import USERS_ALIAS


def token_revoke_all(*, user_id: int) -> int:
    """Revoke every token and pending authorization code of a user; return how many tokens.

    Deleting row by row lets the API's token cache forget each token (post_delete), so the
    tokens stop working at once, not when their cached copies expire.
    """
    access_token_model = get_access_token_model()
    with transaction.atomic(using=USERS_ALIAS):
        get_refresh_token_model().objects.filter(user_id=user_id).delete()
        _, deleted = access_token_model.objects.filter(user_id=user_id).delete()
        get_id_token_model().objects.filter(user_id=user_id).delete()
        get_grant_model().objects.filter(user_id=user_id).delete()
    revoked: int = deleted.get(access_token_model._meta.label, 0)
    return revoked
