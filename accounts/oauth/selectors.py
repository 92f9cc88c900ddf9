"""Reads on a user's OAuth credentials: the apps a person has let act for them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from oauth2_provider.models import AbstractApplication, get_access_token_model
from oauth2_provider.scopes import get_scopes_backend


@dataclass(frozen=True)
class AppScope:
    name: str
    description: str


@dataclass(frozen=True)
class AuthorizedApp:
    """A third-party app holding at least one live token of the person."""

    application_id: int
    name: str
    scopes: tuple[AppScope, ...]
    first_authorized: datetime
    last_authorized: datetime


def authorized_apps(*, user_id: int) -> list[AuthorizedApp]:
    """Return the third-party apps with a live token of ``user_id``, latest first.

    The first-party app (password grant) is the person's own log-in, not an app they
    authorised, so it is left out.
    """
    described: dict[str, str] = get_scopes_backend().get_all_scopes()
    order = {name: position for position, name in enumerate(described)}
    rows = (
        get_access_token_model()
        .objects.filter(user_id=user_id, expires__gt=timezone.now(), application__isnull=False)
        .exclude(application__authorization_grant_type=AbstractApplication.GRANT_PASSWORD)
        .values_list("application_id", "application__name", "scope", "created")
    )
    names: dict[int, str] = {}
    scopes: dict[int, set[str]] = defaultdict(set)
    first: dict[int, datetime] = {}
    last: dict[int, datetime] = {}
    for app_id, name, scope, created in rows:
        names[app_id] = name
        scopes[app_id].update(scope.split())
        first[app_id] = min(first.get(app_id, created), created)
        last[app_id] = max(last.get(app_id, created), created)
    apps = [
        AuthorizedApp(
            application_id=app_id,
            name=name,
            scopes=tuple(
                AppScope(name=scope, description=described.get(scope, scope))
                for scope in sorted(scopes[app_id], key=lambda s: (order.get(s, len(order)), s))
            ),
            first_authorized=first[app_id],
            last_authorized=last[app_id],
        )
        for app_id, name in names.items()
    ]
    return sorted(apps, key=lambda app: app.last_authorized, reverse=True)
