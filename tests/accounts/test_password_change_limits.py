"""The old-password check of /accounts/password/change/ is under the log-in attempt limits.

A stolen session cookie must not turn the form into an unlimited password oracle.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from accounts.models import User
from accounts.services.users import user_create
from tests.abuse_keys import abuse_keys_forgotten

ALL = ["default", "shards_0", "shards_1"]
pytestmark = pytest.mark.django_db(databases=ALL)
PASSWORD = "correct-horse-battery-42"
NEW = "tango-foxtrot-1942"


@pytest.fixture(autouse=True)
def _forget_counters() -> Iterator[None]:
    with abuse_keys_forgotten():
        yield


def _session(ip: str) -> tuple[User, Client]:
    name = f"pc_{uuid.uuid4().hex[:12]}"
    user = user_create(username=name, email=f"{name}@example.com", password=PASSWORD)
    client = Client(REMOTE_ADDR=ip)
    client.force_login(user)
    return user, client


def _ip() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def _change(client: Client, old_password: str) -> object:
    return _change_at(client, reverse("accounts:change_password"), old_password)


def _change_at(client: Client, url: str, old_password: str) -> object:
    return client.post(
        url, {"old_password": old_password, "new_password1": NEW, "new_password2": NEW}
    )


def test_guessing_the_old_password_is_refused_over_the_log_in_limit(settings: Settings) -> None:
    settings.LOGIN_LIMIT_PER_ACCOUNT_IP = 3
    user, client = _session(_ip())
    wrong = [_change(client, f"guess-{n}") for n in range(3)]

    response = _change(client, PASSWORD)

    assert [r.status_code for r in wrong] == [200, 200, 200]  # type: ignore[attr-defined]
    assert "Your old password was entered incorrectly." in wrong[0].content.decode()  # type: ignore[attr-defined]
    assert response.status_code == 429  # type: ignore[attr-defined]
    assert response["Retry-After"] == str(settings.LOGIN_LIMIT_WINDOW)  # type: ignore[index]
    assert "Too many attempts. Please wait 15 minutes." in response.content.decode()  # type: ignore[attr-defined]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_wrong_old_passwords_count_against_the_ip(settings: Settings) -> None:
    settings.LOGIN_LIMIT_PER_IP = 2
    ip = _ip()
    _, first = _session(ip)
    _, second = _session(ip)
    wrong = [_change(first, "guess-a"), _change(first, "guess-b")]

    response = _change(second, PASSWORD)

    assert [r.status_code for r in wrong] == [200, 200]  # type: ignore[attr-defined]
    assert response.status_code == 429  # type: ignore[attr-defined]


def test_a_right_old_password_forgets_the_attempts(settings: Settings) -> None:
    settings.LOGIN_LIMIT_PER_ACCOUNT_IP = 3
    user, client = _session(_ip())
    _change(client, "guess-1")
    _change(client, "guess-2")
    changed = _change(client, PASSWORD)
    user.refresh_from_db()
    client.force_login(user)

    # The attempts before the change are forgotten: two more wrong guesses are still answered.
    again = [_change(client, "guess-3").status_code, _change(client, "guess-4").status_code]  # type: ignore[attr-defined]

    assert changed.status_code == 302  # type: ignore[attr-defined]
    assert again == [200, 200]


def test_the_admin_password_form_sends_staff_to_the_limited_form() -> None:
    user, client = _session(_ip())
    User.objects.filter(pk=user.pk).update(is_staff=True)

    shown = client.get("/admin/password_change/")
    posted = _change_at(client, "/admin/password_change/", PASSWORD)

    assert (shown.status_code, shown.get("Location")) == (302, "/accounts/password/change/")
    assert (posted.status_code, posted.get("Location")) == (302, "/accounts/password/change/")  # type: ignore[attr-defined, index]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
