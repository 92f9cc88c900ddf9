"""The publish scope end to end: who is granted it, the consent page, refusals, old tokens."""

from __future__ import annotations

import importlib
import io
import secrets
from collections.abc import Callable, Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connections
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application
from PIL import Image

from accounts.models import User
from accounts.selectors.graph import user_counts
from instaclone.api.tokens import token_checksum

CALLBACK = "https://app.example.com/callback"
PASSWORD = "correct horse battery staple"
PERMISSION_ERROR = {
    "code": 400,
    "error_type": "OAuthPermissionsException",
    "error_message": "This request requires scope=publish, but this access_token is not "
    "authorized with that scope.",
}


@pytest.fixture
def client() -> Client:
    """Return a client from an address of its own, so log-in limits start at zero."""
    return Client(REMOTE_ADDR=f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.7")


@pytest.fixture
def third_party_app(live_db: None) -> Iterator[tuple[Application, str]]:
    """Register a third-party (code-grant) app; delete it and its tokens after the test."""
    secret = secrets.token_urlsafe(32)
    app = Application.objects.create(
        name="Photo Printer",
        client_secret=secret,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=CALLBACK,
    )
    yield app, secret
    app.delete()


def _upload(client: Client, token: str) -> Any:
    image = io.BytesIO()
    Image.new("RGB", (320, 320), (10, 120, 200)).save(image, "JPEG")
    image.seek(0)
    image.name = "photo.jpg"
    return client.post("/v1/media/upload", {"photo": image}, HTTP_AUTHORIZATION=f"Bearer {token}")


def _password_grant(client: Client, username: str, **extra: str) -> Any:
    return client.post(
        "/oauth/access_token",
        {
            "client_id": settings.FIRST_PARTY_CLIENT_ID,
            "client_secret": settings.FIRST_PARTY_CLIENT_SECRET,
            "grant_type": "password",
            "username": username,
            "password": PASSWORD,
            **extra,
        },
    )


def _code_grant_token(
    client: Client, person: User, app: tuple[Application, str], scope: str
) -> dict[str, Any]:
    """Log in, approve ``scope`` on the consent page, exchange the code; return the answer."""
    client.force_login(person)
    query = {
        "client_id": app[0].client_id,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": scope,
        "state": "s1",
    }
    page = client.get("/oauth/authorize", query)
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    answer = client.post("/oauth/authorize", {**form, "allow": "Authorize"})
    code = parse_qs(urlsplit(answer["Location"]).query)["code"][0]
    exchanged = client.post(
        "/oauth/access_token",
        {
            "client_id": app[0].client_id,
            "client_secret": app[1],
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
        },
    )
    body: dict[str, Any] = exchanged.json()
    return body


def test_first_party_password_grant_includes_publish_and_can_post(
    client: Client, make_user: Callable[..., User]
) -> None:
    person = make_user(name="ios")

    granted = _password_grant(client, person.username)
    token = granted.json()["access_token"]
    posted = _upload(client, token)

    assert granted.status_code == 200
    stored = AccessToken.objects.get(token_checksum=token_checksum(token))
    assert set(stored.scope.split()) == {"basic", "publish", "comments", "relationships", "likes"}
    assert posted.status_code == 200, posted.content
    assert user_counts(user_id=person.id)["media"] == 1


def test_consent_page_names_the_publish_scope(
    client: Client, make_user: Callable[..., User], third_party_app: tuple[Application, str]
) -> None:
    client.force_login(make_user(name="consent"))

    page = client.get(
        "/oauth/authorize",
        {
            "client_id": third_party_app[0].client_id,
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "scope": "basic publish",
            "state": "s1",
        },
    )

    assert page.status_code == 200
    assert page.context["scopes_descriptions"] == [
        "Read your profile, photos and feed",
        "Post and delete photos on your behalf",
    ]
    assert b"<li>Post and delete photos on your behalf</li>" in page.content


def test_third_party_token_approved_for_reading_cannot_post(
    client: Client, make_user: Callable[..., User], third_party_app: tuple[Application, str]
) -> None:
    person = make_user(name="reader")
    token = _code_grant_token(client, person, third_party_app, "basic likes")["access_token"]

    refused = _upload(Client(), token)

    assert refused.status_code == 400
    assert refused.json()["meta"] == PERMISSION_ERROR
    assert user_counts(user_id=person.id)["media"] == 0


def test_third_party_token_approved_to_publish_can_post(
    client: Client, make_user: Callable[..., User], third_party_app: tuple[Application, str]
) -> None:
    person = make_user(name="poster")
    token = _code_grant_token(client, person, third_party_app, "basic publish")["access_token"]

    posted = _upload(Client(), token)

    assert posted.status_code == 200, posted.content
    assert user_counts(user_id=person.id)["media"] == 1


def test_unknown_scope_is_refused_with_the_scopes_from_settings(
    client: Client, make_user: Callable[..., User]
) -> None:
    person = make_user(name="greedy")

    response = _password_grant(client, person.username, scope="basic admin")

    assert response.status_code == 400
    assert response.json() == {
        "code": 400,
        "error_type": "OAuthException",
        "error_message": "The requested scope is invalid; use basic, publish, comments, "
        "relationships or likes.",
    }


def test_migration_gives_publish_to_first_party_tokens_granted_everything(
    make_user: Callable[..., User], third_party_app: tuple[Application, str]
) -> None:
    migration = importlib.import_module("instaclone.api.migrations.0002_first_party_tokens_publish")
    person = make_user(name="old")
    first_party = Application.objects.get(client_id=settings.FIRST_PARTY_CLIENT_ID)
    old_scopes = {
        "everything": (first_party, "basic comments relationships likes"),
        "asked_less": (first_party, "basic likes"),
        "third_party": (third_party_app[0], "basic comments relationships likes"),
    }
    ids = {
        name: AccessToken.objects.create(
            user=person,
            application=app,
            token=secrets.token_urlsafe(24),
            scope=scope,
            expires=timezone.now() + timedelta(hours=1),
        ).id
        for name, (app, scope) in old_scopes.items()
    }
    editor = SimpleNamespace(connection=connections["default"])

    migration.first_party_tokens_publish(apps, editor)
    migration.first_party_tokens_publish(apps, editor)  # twice: nothing more changes

    scopes = {name: AccessToken.objects.get(id=ids[name]).scope for name in ids}
    assert scopes == {
        "everything": "basic comments relationships likes publish",
        "asked_less": "basic likes",
        "third_party": "basic comments relationships likes",
    }
