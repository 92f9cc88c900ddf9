"""The authorized-apps page: what can act for a person, and taking it back."""

from __future__ import annotations

import random
import re
import secrets
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, Grant

from accounts.models import User
from accounts.services.users import user_create
from instaclone.api.tokens import token_checksum

ALL = ["default", "shards_0", "shards_1"]
pytestmark = pytest.mark.django_db(databases=ALL)
PAGE = "/accounts/apps/"


def _client(*, enforce_csrf_checks: bool = False) -> Client:
    address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    return Client(enforce_csrf_checks=enforce_csrf_checks, REMOTE_ADDR=address)


def _user() -> User:
    name = f"ap_{uuid.uuid4().hex[:12]}"
    return user_create(username=name, email=f"{name}@example.com", password="tango-foxtrot-1942")


def _app(name: str, grant: str = Application.GRANT_AUTHORIZATION_CODE) -> Application:
    return Application.objects.create(
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=grant,
        redirect_uris="https://app.example.com/callback" if grant != "password" else "",
    )


def _token(user: User, app: Application, scope: str = "basic") -> str:
    raw = secrets.token_urlsafe(24)
    AccessToken.objects.create(
        user=user,
        application=app,
        token=raw,
        scope=scope,
        expires=timezone.now() + timedelta(days=1),
    )
    return raw


def _works(raw: str) -> bool:
    answer = _client().get("/v1/users/self", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert answer.status_code in (200, 400)
    return answer.status_code == 200


def _logged_in(user: User, *, enforce_csrf_checks: bool = False) -> Client:
    client = _client(enforce_csrf_checks=enforce_csrf_checks)
    client.force_login(user)
    return client


def test_page_needs_log_in() -> None:
    response = _client().get(PAGE)

    assert (response.status_code, response["Location"]) == (
        302,
        "/accounts/login/?next=/accounts/apps/",
    )


def test_page_lists_the_third_party_apps_with_their_scopes() -> None:
    person, other = _user(), _user()
    photos = _app(f"Printer {uuid.uuid4().hex[:6]}")
    likes = _app(f"Liker {uuid.uuid4().hex[:6]}")
    mobile = _app(f"Mobile {uuid.uuid4().hex[:6]}", Application.GRANT_PASSWORD)
    strangers = _app(f"Stranger {uuid.uuid4().hex[:6]}")
    _token(person, photos)
    _token(person, likes, "basic likes")
    _token(person, likes, "comments")
    _token(person, mobile, "basic likes comments relationships")
    _token(other, strangers)
    expired = _token(person, _app("Expired app"))
    AccessToken.objects.filter(token_checksum=token_checksum(expired)).update(
        expires=timezone.now() - timedelta(seconds=1)
    )

    response = _logged_in(person).get(PAGE)

    assert response.status_code == 200
    page = response.content.decode()
    names = re.findall(r"<h2>([^<]+)</h2>", page)
    assert sorted(names) == sorted([photos.name, likes.name])
    liker = page[page.index(f"<h2>{likes.name}</h2>") :]
    liker = liker[: liker.index("</form>")]
    assert re.findall(r"<li><strong>(\w+)</strong>: ([^<]+)</li>", liker) == [
        ("basic", "Read your profile, photos and feed"),
        ("comments", "Post and delete comments on your behalf"),
        ("likes", "Like and unlike photos on your behalf"),
    ]
    assert f'action="/accounts/apps/{likes.pk}/revoke/"' in liker
    assert "Authorized <time datetime=" in liker


def test_page_says_when_no_app_has_access() -> None:
    response = _logged_in(_user()).get(PAGE)

    assert "No apps can use your account." in response.content.decode()


def test_revoking_takes_back_that_app_only_for_this_person() -> None:
    person, other = _user(), _user()
    app, kept_app = _app("Revoked app"), _app("Kept app")
    revoked = [_token(person, app), _token(person, app, "likes")]
    Grant.objects.create(
        user=person,
        application=app,
        code=secrets.token_urlsafe(16),
        expires=timezone.now() + timedelta(minutes=5),
        redirect_uri="https://app.example.com/callback",
        scope="basic",
    )
    kept = [_token(person, kept_app), _token(other, app)]
    assert all(_works(raw) for raw in revoked + kept)
    client = _logged_in(person, enforce_csrf_checks=True)
    csrf = re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(PAGE).content.decode()
    )
    assert csrf is not None

    response = client.post(
        f"/accounts/apps/{app.pk}/revoke/", {"csrfmiddlewaretoken": csrf.group(1)}
    )

    assert (response.status_code, response["Location"]) == (302, PAGE)
    assert [_works(raw) for raw in revoked] == [False, False]
    assert [_works(raw) for raw in kept] == [True, True]
    assert not Grant.objects.filter(user=person, application=app).exists()
    after = client.get(PAGE).content.decode()
    assert "Revoked app can no longer use your account." in after
    assert re.findall(r"<h2>([^<]+)</h2>", after) == ["Kept app"]


def test_revoking_without_the_csrf_token_is_refused() -> None:
    person = _user()
    app = _app("Some app")
    raw = _token(person, app)

    response = _logged_in(person, enforce_csrf_checks=True).post(f"/accounts/apps/{app.pk}/revoke/")

    assert response.status_code == 403
    assert _works(raw)


def test_revoking_another_persons_app_is_404() -> None:
    person, other = _user(), _user()
    theirs = _app("Their app")
    raw = _token(other, theirs)

    response = _logged_in(person).post(f"/accounts/apps/{theirs.pk}/revoke/")

    assert response.status_code == 404
    assert _works(raw)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("post", "/accounts/apps/0/revoke/", 404),
        ("post", "/accounts/apps/999999999999/revoke/", 404),
        ("post", "/accounts/apps/99999999999999999999999/revoke/", 404),
        ("post", "/accounts/apps/-1/revoke/", 404),
        ("post", "/accounts/apps/abc/revoke/", 404),
        ("get", "/accounts/apps/1/revoke/", 405),
        ("post", PAGE, 405),
    ],
)
def test_revoke_refuses_bad_input(method: str, path: str, status: int) -> None:
    response = getattr(_logged_in(_user()), method)(path)

    assert response.status_code == status


def test_revoke_needs_log_in() -> None:
    person = _user()
    app = _app("Some app")
    raw = _token(person, app)

    response = _client().post(f"/accounts/apps/{app.pk}/revoke/")

    assert (response.status_code, response["Location"]) == (
        302,
        f"/accounts/login/?next=/accounts/apps/{app.pk}/revoke/",
    )
    assert _works(raw)


def test_profile_edit_page_links_to_the_apps_page() -> None:
    page = _logged_in(_user()).get("/accounts/edit/").content.decode()

    assert '<a href="/accounts/apps/">Authorized apps</a>' in page
