"""OAuth2 as v1 had it: the password and code grants, the consent page, revocation."""

from __future__ import annotations

import base64
import io
import secrets
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import HttpRequest
from django.test import Client, override_settings
from django.urls import include, path
from ninja import Router
from oauth2_provider.models import AccessToken, Application, RefreshToken

from accounts.models import User
from accounts.oauth.services import token_revoke_all
from instaclone.api.auth import TokenAuth
from instaclone.api.envelope import envelope
from instaclone.api.site import create_api
from instaclone.api.tokens import token_checksum
from instaclone.sharding.redis_client import redis_client

DATABASES = ["default", "shards_0", "shards_1"]
PASSWORD = "correct horse battery staple"
CALLBACK = "https://app.example.com/callback"

router = Router()


@router.get("/me", auth=TokenAuth())
def me(request: HttpRequest) -> dict[str, Any]:
    """Return the token's user and scopes."""
    return envelope({"id": str(request.auth.id), "scope": request.access_token.scope})


_api = create_api(urls_namespace="v1")
_api.add_router("/", router)
urlpatterns = [path("v1/", _api.urls), path("oauth/", include("accounts.oauth.urls"))]

pytestmark = [pytest.mark.django_db(databases=DATABASES), pytest.mark.urls(__name__)]


@pytest.fixture
def client() -> Client:
    """Return a client from an address of its own, so log-in limits start at zero."""
    return Client(REMOTE_ADDR=f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.9")


@pytest.fixture
def person() -> User:
    return User.objects.create_user(
        username=f"oa_{uuid.uuid4().hex[:12]}",
        email=f"{uuid.uuid4().hex[:10]}@example.com",
        password=PASSWORD,
        full_name="Ada Lovelace",
    )


def _app(grant: str, secret: str, **extra: Any) -> Application:
    return Application.objects.create(
        name=f"app {grant}",
        client_secret=secret,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=grant,
        **extra,
    )


@pytest.fixture
def mobile_app() -> tuple[Application, str]:
    secret = secrets.token_urlsafe(32)
    return _app(Application.GRANT_PASSWORD, secret), secret


@pytest.fixture
def third_party_app() -> tuple[Application, str]:
    secret = secrets.token_urlsafe(32)
    return _app(Application.GRANT_AUTHORIZATION_CODE, secret, redirect_uris=CALLBACK), secret


def _password_grant(
    client: Client, app: tuple[Application, str], username: str, password: str = PASSWORD
) -> Any:
    return client.post(
        "/oauth/access_token",
        {
            "client_id": app[0].client_id,
            "client_secret": app[1],
            "grant_type": "password",
            "username": username,
            "password": password,
        },
    )


def _error(code: int, message: str, error_type: str = "OAuthException") -> dict[str, Any]:
    return {"code": code, "error_type": error_type, "error_message": message}


def test_password_grant_answers_token_and_user(
    client: Client, person: User, mobile_app: tuple[Application, str]
) -> None:
    response = _password_grant(client, mobile_app, person.username)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "user"}
    assert body["user"] == {
        "id": str(person.id),
        "username": person.username,
        "full_name": "Ada Lovelace",
        "profile_picture": "",
    }
    assert response["Cache-Control"] == "no-store"
    # Stored hashed: found by its SHA-256, the token column blank.
    token = AccessToken.objects.get(token_checksum=token_checksum(body["access_token"]))
    assert token.token == ""
    assert token.user_id == person.id
    assert set(token.scope.split()) == {"basic", "publish", "comments", "relationships", "likes"}
    assert not RefreshToken.objects.filter(user=person).exists()


def test_password_grant_token_works_on_the_api(
    client: Client, person: User, mobile_app: tuple[Application, str]
) -> None:
    access_token = _password_grant(client, mobile_app, person.username).json()["access_token"]

    response = client.get("/v1/me", HTTP_AUTHORIZATION=f"Bearer {access_token}")

    assert response.json()["data"]["id"] == str(person.id)


def test_profile_picture_is_an_absolute_url(
    client: Client, person: User, mobile_app: tuple[Application, str]
) -> None:
    person.profile_picture = "avatars/ada.jpg"
    person.save(update_fields=["profile_picture"])

    picture = _password_grant(client, mobile_app, person.username).json()["user"]["profile_picture"]

    assert urlsplit(picture).scheme in ("http", "https")
    assert urlsplit(picture).path.endswith("/avatars/ada.jpg")


def test_password_grant_accepts_username_in_any_case_and_email(
    client: Client, person: User, mobile_app: tuple[Application, str]
) -> None:
    assert _password_grant(client, mobile_app, person.username.upper()).status_code == 200
    assert _password_grant(client, mobile_app, person.email).status_code == 200


def test_wrong_password(client: Client, person: User, mobile_app: tuple[Application, str]) -> None:
    response = _password_grant(client, mobile_app, person.username, "wrong password")

    assert response.status_code == 400
    assert response.json() == _error(400, "The username or password you entered is incorrect.")


def test_inactive_user_cannot_get_a_token(
    client: Client, person: User, mobile_app: tuple[Application, str]
) -> None:
    person.is_active = False
    person.save(update_fields=["is_active"])

    response = _password_grant(client, mobile_app, person.username)

    assert response.json() == _error(400, "The username or password you entered is incorrect.")


def test_nul_byte_username_is_a_400(client: Client, mobile_app: tuple[Application, str]) -> None:
    response = _password_grant(client, mobile_app, f"ada_{uuid.uuid4().hex}\x00")

    assert response.json() == _error(400, "The username or password you entered is incorrect.")


@override_settings(LOGIN_LIMIT_PER_ACCOUNT_IP=2)
def test_repeated_wrong_passwords_are_limited(
    client: Client, person: User, mobile_app: tuple[Application, str]
) -> None:
    for _ in range(2):
        assert _password_grant(client, mobile_app, person.username, "nope").status_code == 400

    response = _password_grant(client, mobile_app, person.username)

    assert response.status_code == 429
    assert response.json() == _error(
        429, "Too many failed log-in attempts. Try again later.", "OAuthRateLimitException"
    )
    assert 0 < int(response["Retry-After"]) <= django_settings.LOGIN_LIMIT_WINDOW


@pytest.fixture
def redis_down(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    redis_client.cache_clear()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    yield
    redis_client.cache_clear()


@pytest.mark.usefixtures("redis_down")
def test_password_grant_fails_closed_when_the_limiter_is_down(
    client: Client, person: User, mobile_app: tuple[Application, str]
) -> None:
    response = _password_grant(client, mobile_app, person.username)

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json()["error_type"] == "OAuthException"


def test_unknown_client(client: Client, person: User) -> None:
    unknown = client.post(
        "/oauth/access_token",
        {
            "client_id": "no-such-client",
            "client_secret": "x",
            "grant_type": "password",
            "username": person.username,
            "password": PASSWORD,
        },
    )

    assert unknown.status_code == 400
    assert unknown.json() == _error(400, "Invalid client_id or client_secret.")


def test_wrong_client_secret(
    client: Client, person: User, mobile_app: tuple[Application, str]
) -> None:
    response = _password_grant(client, (mobile_app[0], "not-the-secret"), person.username)

    assert response.json() == _error(400, "Invalid client_id or client_secret.")


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("client_id", "Missing required parameter: client_id."),
        ("client_secret", "Missing required parameter: client_secret."),
        ("username", "Missing required parameter: username."),
        ("password", "Missing required parameter: password."),
        ("grant_type", "grant_type must be password or authorization_code; it is missing."),
    ],
)
def test_missing_fields(
    client: Client, mobile_app: tuple[Application, str], missing: str, message: str
) -> None:
    fields = {
        "client_id": mobile_app[0].client_id,
        "client_secret": mobile_app[1],
        "grant_type": "password",
        "username": "someone",
        "password": "secret",
    }
    del fields[missing]

    response = client.post("/oauth/access_token", fields)

    assert response.status_code == 400
    assert response.json() == _error(400, message)


@pytest.mark.parametrize("grant_type", ["client_credentials", "refresh_token", "implicit"])
def test_unsupported_grants(
    client: Client, mobile_app: tuple[Application, str], grant_type: str
) -> None:
    response = client.post(
        "/oauth/access_token",
        {
            "client_id": mobile_app[0].client_id,
            "client_secret": mobile_app[1],
            "grant_type": grant_type,
        },
    )

    assert response.json() == _error(
        400, f"grant_type must be password or authorization_code; got {grant_type!r}."
    )


def test_client_credentials_in_a_basic_header_are_checked(
    client: Client, person: User, mobile_app: tuple[Application, str]
) -> None:
    fields = {"grant_type": "password", "username": person.username, "password": PASSWORD}
    good = base64.b64encode(f"{mobile_app[0].client_id}:{mobile_app[1]}".encode()).decode()
    bad = base64.b64encode(f"{mobile_app[0].client_id}:nope".encode()).decode()

    accepted = client.post("/oauth/access_token", fields, HTTP_AUTHORIZATION=f"Basic {good}")
    refused = client.post("/oauth/access_token", fields, HTTP_AUTHORIZATION=f"Basic {bad}")

    assert accepted.status_code == 200
    assert refused.json() == _error(400, "Invalid client_id or client_secret.")


def test_code_grant_client_may_not_use_the_password_grant(
    client: Client, person: User, third_party_app: tuple[Application, str]
) -> None:
    response = _password_grant(client, third_party_app, person.username)

    assert response.json() == _error(400, "This client may not use the password grant.")


def test_get_is_405(client: Client) -> None:
    response = client.get("/oauth/access_token")

    assert response.status_code == 405
    assert response["Allow"] == "POST, OPTIONS"
    assert response.json() == _error(405, "GET is not allowed here; use POST.")


def test_multi_megabyte_body_is_413(client: Client) -> None:
    response = client.post(
        "/oauth/access_token",
        data="grant_type=password&username=" + "a" * (3 * 1024 * 1024),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 413
    assert response.json() == _error(413, "The request body is too large.")


def test_malformed_multipart_body_is_400(client: Client) -> None:
    response = client.post(
        "/oauth/access_token", data=b"--x\r\n", content_type="multipart/form-data; boundary="
    )

    assert response.json() == _error(400, "The request body could not be read.")


def test_overlong_field_is_400(client: Client, mobile_app: tuple[Application, str]) -> None:
    response = _password_grant(client, mobile_app, "someone", "p" * 5000)

    assert response.json() == _error(400, "Parameter too long: password.")


def _authorize_query(app: Application, **extra: str) -> dict[str, str]:
    return {
        "client_id": app.client_id,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "likes comments",
        "state": "xyz",
        **extra,
    }


def _consent(client: Client, app: Application, *, allow: bool) -> dict[str, list[str]]:
    page = client.get("/oauth/authorize", _authorize_query(app))
    assert page.status_code == 200
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    if allow:
        form["allow"] = "Authorize"
    answer = client.post("/oauth/authorize", form)
    assert answer.status_code == 302
    location = urlsplit(answer["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    return parse_qs(location.query)


def _exchange(
    client: Client, app: tuple[Application, str], code: str, redirect: str = CALLBACK
) -> Any:
    return client.post(
        "/oauth/access_token",
        {
            "client_id": app[0].client_id,
            "client_secret": app[1],
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect,
        },
    )


def test_authorize_sends_anonymous_visitors_to_log_in(
    client: Client, third_party_app: tuple[Application, str]
) -> None:
    response = client.get("/oauth/authorize", _authorize_query(third_party_app[0]))

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/accounts/login/"
    assert parse_qs(location.query)["next"][0].startswith("/oauth/authorize?")


def test_authorization_code_flow_end_to_end(
    client: Client, person: User, third_party_app: tuple[Application, str]
) -> None:
    client.force_login(person)
    page = client.get("/oauth/authorize/", _authorize_query(third_party_app[0]))
    assert b"app authorization-code" in page.content
    assert b"Like and unlike photos on your behalf" in page.content

    query = _consent(client, third_party_app[0], allow=True)
    assert query["state"] == ["xyz"]
    exchanged = _exchange(client, third_party_app, query["code"][0])
    access_token = exchanged.json()["access_token"]
    me = Client().get("/v1/me", {"access_token": access_token})

    assert exchanged.status_code == 200
    assert exchanged.json()["user"]["id"] == str(person.id)
    assert me.json()["data"] == {"id": str(person.id), "scope": "likes comments"}


def test_denied_consent_redirects_with_access_denied(
    client: Client, person: User, third_party_app: tuple[Application, str]
) -> None:
    client.force_login(person)

    query = _consent(client, third_party_app[0], allow=False)

    assert query["error"] == ["access_denied"]
    assert query["state"] == ["xyz"]
    assert "code" not in query


def test_code_works_once(
    client: Client, person: User, third_party_app: tuple[Application, str]
) -> None:
    client.force_login(person)
    code = _consent(client, third_party_app[0], allow=True)["code"][0]
    assert _exchange(client, third_party_app, code).status_code == 200

    again = _exchange(client, third_party_app, code)

    assert again.json() == _error(
        400, "The code is invalid, expired or already used, or was issued to another client."
    )


def test_code_exchange_needs_the_same_redirect_uri(
    client: Client, person: User, third_party_app: tuple[Application, str]
) -> None:
    client.force_login(person)
    code = _consent(client, third_party_app[0], allow=True)["code"][0]

    response = _exchange(client, third_party_app, code, "https://app.example.com/other")

    assert response.status_code == 400
    assert response.json() == _error(400, "Mismatching redirect URI.")


def test_unknown_scope_is_refused_at_consent(
    client: Client, person: User, third_party_app: tuple[Application, str]
) -> None:
    client.force_login(person)

    response = client.get("/oauth/authorize", _authorize_query(third_party_app[0], scope="admin"))

    assert response.status_code == 302
    assert parse_qs(urlsplit(response["Location"]).query)["error"] == ["invalid_scope"]


def test_revoked_token_stops_working(
    client: Client, person: User, mobile_app: tuple[Application, str]
) -> None:
    access_token = _password_grant(client, mobile_app, person.username).json()["access_token"]
    assert client.get("/v1/me", {"access_token": access_token}).status_code == 200

    revoked = client.post(
        "/oauth/revoke",
        {
            "token": access_token,
            "client_id": mobile_app[0].client_id,
            "client_secret": mobile_app[1],
        },
    )
    after = client.get("/v1/me", {"access_token": access_token})

    assert revoked.status_code == 200
    assert after.json()["meta"]["error_type"] == "OAuthAccessTokenException"


def test_revoke_needs_the_client_secret(
    client: Client, person: User, mobile_app: tuple[Application, str]
) -> None:
    access_token = _password_grant(client, mobile_app, person.username).json()["access_token"]

    response = client.post(
        "/oauth/revoke",
        {"token": access_token, "client_id": mobile_app[0].client_id, "client_secret": "wrong"},
    )

    assert response.json() == _error(400, "Invalid client_id or client_secret.")
    assert client.get("/v1/me", {"access_token": access_token}).status_code == 200


def test_token_revoke_all_revokes_every_token(
    client: Client, person: User, mobile_app: tuple[Application, str]
) -> None:
    tokens = [
        _password_grant(client, mobile_app, person.username).json()["access_token"]
        for _ in range(2)
    ]
    assert all(client.get("/v1/me", {"access_token": t}).status_code == 200 for t in tokens)

    assert token_revoke_all(user_id=person.id) == 2

    for token in tokens:
        response = client.get("/v1/me", {"access_token": token})
        assert response.json()["meta"]["error_type"] == "OAuthAccessTokenException"


def test_first_party_app_is_registered_from_settings(client: Client, person: User) -> None:
    app = Application.objects.get(client_id=django_settings.FIRST_PARTY_CLIENT_ID)

    response = _password_grant(
        client, (app, django_settings.FIRST_PARTY_CLIENT_SECRET), person.username
    )

    assert (app.name, app.authorization_grant_type) == ("instaclone-ios", "password")
    assert app.client_secret != django_settings.FIRST_PARTY_CLIENT_SECRET  # stored hashed
    assert response.status_code == 200


def test_oauth_app_command_creates_a_client_and_rotates_its_secret(
    client: Client, person: User
) -> None:
    out = io.StringIO()
    call_command("oauth_app", "create", "--name", "cli app", "--password-grant", stdout=out)
    created = dict(line.split("=", 1) for line in out.getvalue().split())
    app = Application.objects.get(client_id=created["client_id"])
    assert (
        _password_grant(client, (app, created["client_secret"]), person.username).status_code == 200
    )

    out = io.StringIO()
    call_command("oauth_app", "secret", "--client-id", app.client_id, stdout=out)
    rotated = dict(line.split("=", 1) for line in out.getvalue().split())

    assert rotated["client_secret"] != created["client_secret"]
    assert (
        _password_grant(client, (app, created["client_secret"]), person.username).status_code == 400
    )
    assert (
        _password_grant(client, (app, rotated["client_secret"]), person.username).status_code == 200
    )


def test_oauth_app_command_refuses_a_code_client_without_redirect_uri() -> None:
    with pytest.raises(CommandError, match="the code grant needs at least one redirect URI"):
        call_command("oauth_app", "create", "--name", "x", "--code-grant", stdout=io.StringIO())
