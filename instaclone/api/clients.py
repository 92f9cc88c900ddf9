"""API clients: the OAuth2 applications allowed to ask for tokens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from django.core.exceptions import ValidationError
from django.db import transaction
from oauth2_provider.generators import generate_client_id, generate_client_secret
from oauth2_provider.models import AbstractApplication, get_application_model

from instaclone.sharding.topology import USERS_ALIAS

Grant = Literal["password", "code"]
_GRANT_TYPES = {
    "password": AbstractApplication.GRANT_PASSWORD,
    "code": AbstractApplication.GRANT_AUTHORIZATION_CODE,
}


class ClientError(Exception):
    """The client cannot be registered as asked; the message says why."""


def oauth_app_create(
    *,
    name: str,
    grant: Grant,
    redirect_uris: Sequence[str] = (),
    client_id: str | None = None,
    client_secret: str | None = None,
    skip_authorization: bool = False,
) -> tuple[str, str]:
    """Register a confidential client; return its client_id and the secret in clear.

    The secret is stored hashed, so this is the only time it can be shown.
    """
    model = get_application_model()
    if grant == "code" and not redirect_uris:
        raise ClientError("the code grant needs at least one redirect URI")
    client_id = client_id or generate_client_id()
    secret = client_secret or generate_client_secret()
    app = model(
        name=name,
        client_id=client_id,
        client_secret=secret,
        client_type=AbstractApplication.CLIENT_CONFIDENTIAL,
        authorization_grant_type=_GRANT_TYPES[grant],
        redirect_uris=" ".join(redirect_uris),
        skip_authorization=skip_authorization,
        hash_client_secret=True,
    )
    try:
        app.full_clean()
    except ValidationError as exc:
        raise ClientError("; ".join(exc.messages)) from exc
    with transaction.atomic(using=USERS_ALIAS):
        app.save()
    return client_id, secret


def oauth_app_set_secret(*, client_id: str, client_secret: str | None = None) -> str:
    """Give a client a new secret (a generated one by default); return it in clear."""
    model = get_application_model()
    secret = client_secret or generate_client_secret()
    with transaction.atomic(using=USERS_ALIAS):
        app = model.objects.select_for_update().filter(client_id=client_id).first()
        if app is None:
            raise ClientError(f"no client with client_id {client_id!r}")
        app.client_secret = secret
        app.save(update_fields=["client_secret", "updated"])
    return secret
