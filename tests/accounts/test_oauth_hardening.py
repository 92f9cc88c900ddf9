"""OAuth hardening: tokens hashed at rest, PKCE for public clients, https redirect URIs only."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections
from django.test import Client
from oauth2_provider.models import AccessToken, Application

from accounts.models import User
from accounts.oauth.services import token_revoke_all
from instaclone.api.tokens import token_checksum

DATABASES = ["default", "shards_0", "shards_1"]
pytestmark = pytest.mark.django_db(databases=DATABASES)
CALLBACK = "https://app.example.com/callback"
INVALID = {
    "code": 400,
    "error_type": "OAuthAccessTokenException",
    "error_message": "The access_token provided is invalid.",
}


@pytest.fixture
def client() -> Client:
    return Client(REMOTE_ADDR=f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.7")


@pytest.fixture
def person() -> User:
    return User.objects.create_user(
        username=f"oh_{uuid.uuid4().hex[:12]}",
        email=f"{uuid.uuid4().hex[:10]}@example.com",
        password="correct horse battery staple",
    )


def _app(client_type: str, secret: str = "") -> Application:
    return Application.objects.create(
        name=f"app {uuid.uuid4().hex[:6]}",
        client_secret=secret,
        client_type=client_type,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=CALLBACK,
    )


def _authorize(client: Client, app: Application, **extra: str) -> dict[str, list[str]]:
    """Consent on the authorize page; return the query of the redirect to the app."""
    query = {
        "client_id": app.client_id,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "likes",
        "state": "st",
        **extra,
    }
    page = client.get("/oauth/authorize", query)
    if page.status_code == 302:
        location = urlsplit(page["Location"])
        return parse_qs(location.query)
    assert page.status_code == 200
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    form["allow"] = "Authorize"
    answer = client.post("/oauth/authorize", form)
    assert answer.status_code == 302
    location = urlsplit(answer["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    return parse_qs(location.query)


def _exchange(client: Client, app: Application, secret: str, code: str, **extra: str) -> Any:
    return client.post(
        "/oauth/access_token",
        {
            "client_id": app.client_id,
            "client_secret": secret,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            **extra,
        },
    )


def _issued(client: Client, person: User) -> tuple[Application, str, str]:
    secret = secrets.token_urlsafe(32)
    app = _app(Application.CLIENT_CONFIDENTIAL, secret)
    client.force_login(person)
    code = _authorize(client, app)["code"][0]
    answer = _exchange(client, app, secret, code)
    assert answer.status_code == 200
    return app, secret, answer.json()["access_token"]


def _row_values(person: User) -> list[str]:
    # Every column of the user's token rows, as the database holds them.
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT * FROM oauth2_provider_accesstoken WHERE user_id = %s", [person.pk])
        return [str(value) for row in cursor.fetchall() for value in row]


def test_issued_token_is_stored_as_its_sha256_only(client: Client, person: User) -> None:
    _, _, raw = _issued(client, person)

    values = _row_values(person)

    assert values, "the token row exists"
    assert not [value for value in values if raw in value]
    stored = AccessToken.objects.get(user=person)
    assert (stored.token, stored.token_checksum) == ("", token_checksum(raw))


def test_hashed_token_works_and_revokes(client: Client, person: User) -> None:
    app, secret, raw = _issued(client, person)
    used = Client().get("/v1/users/self", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert (used.status_code, used.json()["data"]["id"]) == (200, str(person.pk))

    revoked = Client().post(
        "/oauth/revoke", {"token": raw, "client_id": app.client_id, "client_secret": secret}
    )

    assert revoked.status_code == 200
    after = Client().get("/v1/users/self", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert (after.status_code, after.json()["meta"]) == (400, INVALID)


def test_token_revoke_all_revokes_hashed_tokens(client: Client, person: User) -> None:
    _, _, raw = _issued(client, person)

    assert token_revoke_all(user_id=person.pk) == 1

    after = Client().get("/v1/users/self", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert (after.status_code, after.json()["meta"]) == (400, INVALID)


def test_admin_lists_and_revokes_hashed_tokens(client: Client, person: User) -> None:
    _, _, raw = _issued(client, person)
    admin = User.objects.create_superuser(
        username=f"ad_{uuid.uuid4().hex[:10]}", email="", password="x-admin-pass-42"
    )
    staff = Client()
    staff.force_login(admin)
    token = AccessToken.objects.get(user=person)

    listing = staff.get("/admin/oauth2_provider/accesstoken/")
    revoked = staff.post(
        "/admin/oauth2_provider/accesstoken/",
        {"action": "revoke_tokens", "_selected_action": [str(token.pk)]},
    )

    assert listing.status_code == 200
    assert raw not in listing.content.decode()
    assert revoked.status_code == 302
    after = Client().get("/v1/users/self", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert (after.status_code, after.json()["meta"]) == (400, INVALID)


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_public_client_without_pkce_is_refused(client: Client, person: User) -> None:
    app = _app(Application.CLIENT_PUBLIC)
    client.force_login(person)

    query = _authorize(client, app)

    assert query == {
        "error": ["invalid_request"],
        "error_description": ["Code challenge required."],
        "state": ["st"],
    }


def test_public_client_with_pkce_gets_a_code(client: Client, person: User) -> None:
    app = _app(Application.CLIENT_PUBLIC)
    client.force_login(person)
    _, challenge = _pkce()

    query = _authorize(client, app, code_challenge=challenge, code_challenge_method="S256")

    # The answer names its issuer (RFC 9207), so a client can tell servers apart.
    assert sorted(query) == ["code", "iss", "state"]
    assert query["iss"] == ["http://testserver"]


def test_plain_pkce_method_is_refused(client: Client, person: User) -> None:
    app = _app(Application.CLIENT_PUBLIC)
    client.force_login(person)

    query = _authorize(client, app, code_challenge="a" * 43, code_challenge_method="plain")

    assert query["error"] == ["invalid_request"]
    assert "code" not in query


def test_confidential_client_needs_no_pkce(client: Client, person: User) -> None:
    _, _, raw = _issued(client, person)

    assert len(raw) == 30


def test_oauth_app_command_refuses_an_http_redirect_uri() -> None:
    with pytest.raises(CommandError) as refused:
        call_command(
            "oauth_app",
            "create",
            "--name",
            "plain",
            "--code-grant",
            "--redirect-uri",
            "http://app.example.com/callback",
        )

    assert str(refused.value) == (
        "redirect uri URI Validation error. invalid_scheme: http://app.example.com/callback"
    )
    assert not Application.objects.filter(name="plain").exists()


def _public_code(client: Client, person: User) -> tuple[Application, str, str]:
    """Return a public app, a PKCE verifier and the code issued for its challenge."""
    app = _app(Application.CLIENT_PUBLIC)
    client.force_login(person)
    verifier, challenge = _pkce()
    query = _authorize(client, app, code_challenge=challenge, code_challenge_method="S256")
    return app, verifier, query["code"][0]


def test_public_client_exchanges_its_code_with_the_verifier_and_no_secret(
    client: Client, person: User
) -> None:
    app, verifier, code = _public_code(client, person)

    answer = client.post(
        "/oauth/access_token",
        {
            "client_id": app.client_id,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
    )

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["user"]["id"] == str(person.pk)
    me = Client().get("/v1/users/self", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert me.json()["data"]["id"] == str(person.pk)


@pytest.mark.parametrize("verifier", ["", "wrong"], ids=["without-verifier", "wrong-verifier"])
def test_public_client_code_without_the_right_verifier_is_refused(
    client: Client, person: User, verifier: str
) -> None:
    app, right, code = _public_code(client, person)
    form = {
        "client_id": app.client_id,
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
    }
    if verifier:
        form["code_verifier"] = verifier * 11  # 55 characters: well formed, not the one

    answer = client.post("/oauth/access_token", form)

    assert answer.status_code == 400
    assert answer.json()["error_type"] == "OAuthException"
    assert AccessToken.objects.filter(user=person).count() == 0


def test_confidential_client_without_its_secret_is_refused(client: Client, person: User) -> None:
    secret = secrets.token_urlsafe(32)
    app = _app(Application.CLIENT_CONFIDENTIAL, secret)
    client.force_login(person)
    code = _authorize(client, app)["code"][0]

    answer = client.post(
        "/oauth/access_token",
        {
            "client_id": app.client_id,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
        },
    )

    assert (answer.status_code, answer.json()["error_message"]) == (
        400,
        "Invalid client_id or client_secret.",
    )
    assert AccessToken.objects.filter(user=person).count() == 0
