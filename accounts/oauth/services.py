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


class AppNotAuthorized(Exception):
    """The person has no token of this app (or no such app exists): nothing to revoke."""


def app_authorization_revoke(*, user_id: int, application_id: int) -> str:
    """Revoke every token and pending code one app holds for a user; return the app's name.

    Raise ``AppNotAuthorized`` when the app holds no token of this user, so a caller cannot
    tell someone else's app from an unknown one.
    """
    access_token_model = get_access_token_model()
    with transaction.atomic(using=USERS_ALIAS):
        mine = {"user_id": user_id, "application_id": application_id}
        name = (
            access_token_model.objects.filter(**mine)
            .values_list("application__name", flat=True)
            .first()
        )
        if name is None:
            raise AppNotAuthorized(f"no tokens of application {application_id}")
        get_refresh_token_model().objects.filter(**mine).delete()
        # Row by row (post_delete), so the API's token cache forgets each token at once.
        access_token_model.objects.filter(**mine).delete()
        get_grant_model().objects.filter(**mine).delete()
    return str(name)
