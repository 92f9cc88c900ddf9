"""A new password ends what the old one opened: every door revokes tokens and other sessions.

The doors are the web change-password form, the reset link, the admin's password form, Django's
`changepassword` command and any other `set_password()` + `save()`.
Each test uses a token through the API first, then sees the API refuse it after the change.
"""

from __future__ import annotations

import io
import random
import re
import secrets
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, Grant
from pytest_django.fixtures import Settings

from accounts.models import User
from accounts.services.users import user_create

ALL = ["default", "shards_0", "shards_1"]
pytestmark = pytest.mark.django_db(databases=ALL)
PASSWORD = "correct-horse-battery-42"
NEW = "tango-foxtrot-1942"
REVOKED = {
    "code": 400,
    "error_type": "OAuthAccessTokenException",
    "error_message": "The access_token provided is invalid.",
}


def _client() -> Client:
    # A fresh address per client, so the per-IP abuse limits of other tests never interfere.
    address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    return Client(REMOTE_ADDR=address)


def _user(**fields: object) -> User:
    name = f"pw_{uuid.uuid4().hex[:12]}"
    user = user_create(username=name, email=f"{name}@example.com", password=PASSWORD)
    if fields:
        User.objects.filter(pk=user.pk).update(**fields)
        user.refresh_from_db()
    return user


def _app() -> Application:
    return Application.objects.create(
        name=f"app {uuid.uuid4().hex[:8]}",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://app.example.com/callback",
    )


def _token(user: User) -> str:
    """Issue a token and a pending code for ``user``; return the token, checked to work."""
    raw = secrets.token_urlsafe(24)
    app = _app()
    AccessToken.objects.create(
        user=user,
        application=app,
        token=raw,
        scope="basic",
        expires=timezone.now() + timedelta(days=1),
    )
    Grant.objects.create(
        user=user,
        application=app,
        code=secrets.token_urlsafe(16),
        expires=timezone.now() + timedelta(minutes=5),
        redirect_uri="https://app.example.com/callback",
        scope="basic",
    )
    answer = _client().get("/v1/users/self", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert answer.status_code == 200
    assert answer.json()["data"]["id"] == str(user.pk)
    return raw


def _assert_revoked(raw: str, user: User) -> None:
    answer = _client().get("/v1/users/self", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert (answer.status_code, answer.json()["meta"]) == (400, REVOKED)
    assert AccessToken.objects.filter(user=user).count() == 0
    assert Grant.objects.filter(user=user).count() == 0


def _logged_in(user: User) -> Client:
    client = _client()
    client.force_login(user)
    return client


def _assert_logged_out(client: Client) -> None:
    answer = client.get(reverse("accounts:edit_profile"))
    assert (answer.status_code, answer["Location"]) == (
        302,
        "/accounts/login/?next=/accounts/edit/",
    )


def test_changing_the_password_revokes_tokens_and_other_sessions() -> None:
    user = _user()
    raw = _token(user)
    other = _logged_in(user)
    this = _logged_in(user)

    response = this.post(
        reverse("accounts:change_password"),
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )

    assert (response.status_code, response["Location"]) == (302, "/accounts/password/change/")
    _assert_revoked(raw, user)
    _assert_logged_out(other)
    assert this.get(reverse("accounts:edit_profile")).status_code == 200


def test_a_refused_password_change_keeps_the_tokens() -> None:
    user = _user()
    raw = _token(user)

    response = _logged_in(user).post(
        reverse("accounts:change_password"),
        {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW},
    )

    assert response.status_code == 200
    answer = _client().get("/v1/users/self", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert answer.status_code == 200


def test_resetting_the_password_revokes_tokens_and_sessions(settings: Settings) -> None:
    settings.PASSWORD_RESET_MIN_SECONDS = 0
    user = _user()
    raw = _token(user)
    other = _logged_in(user)
    client = _client()
    client.post(reverse("accounts:password_reset"), {"email": user.email})
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", str(mail.outbox[-1].body))
    assert link is not None
    form_page = client.get(link.group(1))

    response = client.post(form_page["Location"], {"new_password1": NEW, "new_password2": NEW})

    assert (response.status_code, response["Location"]) == (
        302,
        "/accounts/password/reset/complete/",
    )
    _assert_revoked(raw, user)
    _assert_logged_out(other)
    user.refresh_from_db()
    assert user.check_password(NEW)


def test_an_admin_setting_the_password_revokes_tokens_and_sessions() -> None:
    admin = _user(is_staff=True, is_superuser=True)
    user = _user()
    raw = _token(user)
    other = _logged_in(user)
    admin_client = _logged_in(admin)

    response = admin_client.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": NEW, "password2": NEW, "usable_password": "true"},
    )

    assert (response.status_code, response["Location"]) == (
        302,
        f"/admin/accounts/user/{user.pk}/change/",
    )
    _assert_revoked(raw, user)
    _assert_logged_out(other)
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert admin_client.get("/admin/").status_code == 200


def test_an_admin_changing_their_own_password_stays_logged_in() -> None:
    admin = _user(is_staff=True, is_superuser=True)
    raw = _token(admin)
    admin_client = _logged_in(admin)

    response = admin_client.post(
        f"/admin/accounts/user/{admin.pk}/password/",
        {"password1": NEW, "password2": NEW, "usable_password": "true"},
    )

    assert response.status_code == 302
    _assert_revoked(raw, admin)
    assert admin_client.get("/admin/").status_code == 200


def test_an_admin_disabling_the_password_revokes_tokens() -> None:
    admin = _user(is_staff=True, is_superuser=True)
    user = _user()
    raw = _token(user)

    response = _logged_in(admin).post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"usable_password": "false", "unset-password": "Disable password-based authentication"},
    )

    assert (response.status_code, response["Location"]) == (
        302,
        f"/admin/accounts/user/{user.pk}/change/",
    )
    _assert_revoked(raw, user)
    user.refresh_from_db()
    assert not user.has_usable_password()


def test_manage_py_changepassword_revokes_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    user = _user()
    raw = _token(user)
    # Django's command reads the new password twice from the terminal.
    monkeypatch.setattr("getpass.getpass", lambda prompt="": NEW)

    call_command("changepassword", user.username, stdout=io.StringIO())

    _assert_revoked(raw, user)
    user.refresh_from_db()
    assert user.check_password(NEW)


def test_set_password_and_save_anywhere_revokes_tokens() -> None:
    user = _user()
    raw = _token(user)

    user.set_password(NEW)
    user.save()

    _assert_revoked(raw, user)


def test_a_save_without_a_new_password_keeps_the_tokens() -> None:
    user = _user()
    raw = _token(user)

    user.full_name = "Ada"
    user.save()

    answer = _client().get("/v1/users/self", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert answer.status_code == 200
