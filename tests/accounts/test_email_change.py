"""Changing one's email from the edit form: alike answers, a limit, a confirmation link."""

from __future__ import annotations

import random
import re
import time
import uuid

import pytest
from django.contrib.messages import get_messages
from django.core import mail, signing
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from accounts.models import User
from accounts.services.users import user_create

ALL = ["default", "shards_0", "shards_1"]
PASSWORD = "correct-horse-battery-42"
LINK_INVALID = "This confirmation link is invalid or has expired."
LINK = re.compile(r"^(https?://[^/\s]+)(/accounts/email/confirm/[^/\s]+/)$", re.M)


def _user() -> User:
    username = f"e_{uuid.uuid4().hex[:12]}"
    return user_create(username=username, email=f"{username}@example.com", password=PASSWORD)


def _ip() -> str:
    # A fresh documentation-range address per client keeps tests' per-IP counters apart.
    return f"198.{random.randrange(18, 20)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def _client(user: User, ip: str | None = None) -> Client:
    client = Client(REMOTE_ADDR=ip or _ip())
    client.force_login(user)
    return client


def _ask(client: Client, email: str, **fields: str):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("accounts:edit_profile"), {"email": email, "password": PASSWORD, **fields}
    )


def _sent_to(address: str) -> list[mail.EmailMessage]:
    return [message for message in mail.outbox if message.to == [address]]


def _link(message: mail.EmailMessage) -> str:
    found = LINK.search(message.body)
    assert found is not None, message.body
    return found.group(2)


def _flash(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.mark.django_db(databases=ALL)
def test_a_taken_and_a_free_address_get_the_same_answer() -> None:
    owner, asks_taken, asks_free = _user(), _user(), _user()
    free = f"free_{uuid.uuid4().hex[:12]}@example.com"
    mail.outbox.clear()

    # The owner's address in another case: still theirs (addresses are unique regardless).
    taken = owner.email.split("@")[0].upper() + "@example.com"
    taken_answer = _ask(_client(asks_taken), taken, bio="same bio")
    free_answer = _ask(_client(asks_free), free, bio="same bio")

    def seen(response, typed: str) -> tuple[int, str, list[str]]:  # type: ignore[no-untyped-def]
        flashed = [text.replace(typed, "<typed>") for text in _flash(response)]
        return response.status_code, response["Location"], flashed

    expected = (
        302,
        "/accounts/edit/",
        [
            "Your profile was saved.",
            "We sent a confirmation link to <typed>. Your email address changes when you open it.",
        ],
    )
    assert seen(taken_answer, taken) == expected
    assert seen(free_answer, free) == expected
    # Nothing changed yet for either; the other fields were saved for both.
    for user, email in ((asks_taken, asks_taken.email), (asks_free, asks_free.email)):
        user.refresh_from_db()
        assert (user.email, user.bio) == (email, "same bio")
    owner.refresh_from_db()
    assert owner.email.endswith("@example.com") and owner.email == owner.email.lower()
    # A notice to the owner of the taken address, a link to the free one, and to each asker's
    # current address word of the request, the same either way.
    assert [(m.to, m.subject) for m in mail.outbox] == [
        ([taken], "Someone tried to use your email address on instaclone"),
        ([asks_taken.email], "Someone asked to change your instaclone email address"),
        ([free], "Confirm your new instaclone email address"),
        ([asks_free.email], "Someone asked to change your instaclone email address"),
    ]
    assert "/accounts/email/confirm/" not in mail.outbox[0].body
    assert asks_taken.username not in mail.outbox[0].body


@pytest.mark.django_db(databases=ALL)
def test_the_same_address_in_another_case_is_no_change() -> None:
    user = _user()
    mail.outbox.clear()
    response = _ask(_client(user), user.email.upper(), bio="just the bio")
    assert response.status_code == 302
    assert _flash(response) == ["Your profile was saved."]
    assert mail.outbox == []


@pytest.mark.django_db(databases=ALL)
def test_the_link_changes_the_address_once_and_tells_the_old_one() -> None:
    user = _user()
    old, new = user.email, f"new_{uuid.uuid4().hex[:12]}@example.com"
    client = _client(user)
    mail.outbox.clear()
    _ask(client, new)
    link = _link(mail.outbox[0])

    # Opening it (a mail scanner may) only shows what it would do.
    shown = Client().get(link)
    assert shown.status_code == 200
    assert f"Use <strong>{new}</strong> as the email address of your account?" in (
        shown.content.decode()
    )
    user.refresh_from_db()
    assert user.email == old

    confirmed = Client().post(link)
    assert confirmed.status_code == 200
    assert f"Your email address is now <strong>{new}</strong>." in confirmed.content.decode()
    user.refresh_from_db()
    assert user.email == new
    assert [(m.to, m.subject) for m in mail.outbox[1:]] == [
        ([old], "Someone asked to change your instaclone email address"),
        ([old], "Your instaclone email address was changed"),
    ]
    assert new in mail.outbox[1].body and new in mail.outbox[2].body

    for again in (Client().post(link), Client().get(link)):
        assert again.status_code == 400
        assert LINK_INVALID in again.content.decode()
    user.refresh_from_db()
    assert user.email == new


@pytest.mark.django_db(databases=ALL)
def test_using_one_link_voids_the_others() -> None:
    user = _user()
    first, second = (f"{n}_{uuid.uuid4().hex[:12]}@example.com" for n in ("one", "two"))
    client = _client(user)
    mail.outbox.clear()
    _ask(client, first)
    _ask(client, second)
    first_link, second_link = _link(_sent_to(first)[0]), _link(_sent_to(second)[0])
    assert Client().post(second_link).status_code == 200
    refused = Client().post(first_link)
    assert refused.status_code == 400
    user.refresh_from_db()
    assert user.email == second


@pytest.mark.django_db(databases=ALL)
def test_an_expired_link_is_refused(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    user = _user()
    new = f"late_{uuid.uuid4().hex[:12]}@example.com"
    # The link is signed as if a second more than its lifetime ago.
    signed_at = int(time.time()) - settings.EMAIL_CHANGE_LINK_SECONDS - 1
    mail.outbox.clear()
    with monkeypatch.context() as patched:
        patched.setattr(
            signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(signed_at)
        )
        _ask(_client(user), new)
    link = _link(mail.outbox[0])
    for answer in (Client().get(link), Client().post(link)):
        assert answer.status_code == 400
        assert LINK_INVALID in answer.content.decode()
    user.refresh_from_db()
    assert user.email != new


@pytest.mark.django_db(databases=ALL)
def test_a_link_is_void_once_another_account_took_the_address() -> None:
    user = _user()
    new = f"race_{uuid.uuid4().hex[:12]}@example.com"
    mail.outbox.clear()
    _ask(_client(user), new)
    link = _link(mail.outbox[0])
    user_create(username=f"e_{uuid.uuid4().hex[:12]}", email=new, password=PASSWORD)
    refused = Client().post(link)
    assert refused.status_code == 400
    assert LINK_INVALID in refused.content.decode()
    user.refresh_from_db()
    assert user.email != new


@pytest.mark.django_db(databases=ALL)
def test_bad_links_get_400_never_500() -> None:
    user = _user()
    mail.outbox.clear()
    _ask(_client(user), f"bad_{uuid.uuid4().hex[:12]}@example.com")
    genuine = _link(mail.outbox[0]).split("/")[-2]
    other_salt = signing.dumps({"u": user.pk, "e": "x@example.com", "o": "0"}, salt="other")
    tampered = genuine[:-3] + ("AAA" if genuine[-3:] != "AAA" else "BBB")
    for token in ("abc", "a:b:c", tampered, other_salt, "x" * 2000, "%00", "..."):
        path = f"/accounts/email/confirm/{token}/"
        for answer in (Client().get(path), Client().post(path)):
            assert answer.status_code == 400, (token[:40], answer.status_code)
            assert LINK_INVALID in answer.content.decode()
    assert Client().put(_link(mail.outbox[0])).status_code == 405


@pytest.mark.django_db(databases=ALL)
def test_email_change_requests_are_limited_per_account(settings: Settings) -> None:
    settings.EMAIL_CHANGE_LIMIT_PER_ACCOUNT = 2
    user = _user()
    mail.outbox.clear()
    for n in range(2):
        # A new address from a new IP each time: only the account's count can stop it.
        assert _ask(_client(user), f"a{n}_{uuid.uuid4().hex[:8]}@example.com").status_code == 302
    refused = _ask(_client(user), f"a2_{uuid.uuid4().hex[:8]}@example.com", bio="not saved")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= settings.EMAIL_CHANGE_LIMIT_WINDOW
    assert "Too many attempts. Please wait 60 minutes." in refused.content.decode()
    assert len([m for m in mail.outbox if m.to != [user.email]]) == 2
    user.refresh_from_db()
    assert user.bio == ""
    # Other edits that leave the address alone still go through.
    assert _ask(_client(user), user.email, bio="saved").status_code == 302


@pytest.mark.django_db(databases=ALL)
def test_email_change_requests_are_limited_per_ip(settings: Settings) -> None:
    settings.EMAIL_CHANGE_LIMIT_PER_IP = 3
    ip = _ip()
    mail.outbox.clear()
    answers = [
        _ask(_client(_user(), ip), f"ip{n}_{uuid.uuid4().hex[:8]}@example.com").status_code
        for n in range(4)
    ]
    assert answers == [302, 302, 302, 429]
    assert len([m for m in mail.outbox if m.to[0].startswith("ip")]) == 3


@pytest.mark.django_db(databases=ALL)
@pytest.mark.parametrize("password", ["", "not-the-password"], ids=["missing", "wrong"])
def test_an_email_change_needs_the_current_password(password: str) -> None:
    # A session alone (borrowed, stolen) must not move the address, then reset the password.
    user = _user()
    mail.outbox.clear()

    answer = _ask(_client(user), f"thief_{uuid.uuid4().hex[:8]}@example.com", password=password)

    assert answer.status_code == 200
    expected = (
        "Your password was entered incorrectly."
        if password
        else "Enter your current password to change your email address."
    )
    assert answer.context["form"].errors == {"password": [expected]}
    assert mail.outbox == []
    user.refresh_from_db()
    assert user.email.startswith("e_")


@pytest.mark.django_db(databases=ALL)
def test_guessing_the_password_through_the_email_change_is_limited(settings: Settings) -> None:
    settings.LOGIN_LIMIT_PER_ACCOUNT_IP = 3
    user, ip = _user(), _ip()
    answers = [
        _ask(_client(user, ip), f"g{n}_{uuid.uuid4().hex[:8]}@example.com", password=f"guess{n}")
        for n in range(4)
    ]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]


@pytest.mark.django_db(databases=ALL)
def test_a_password_change_voids_a_pending_link() -> None:
    user = _user()
    new = f"pending_{uuid.uuid4().hex[:12]}@example.com"
    mail.outbox.clear()
    _ask(_client(user), new)
    link = _link(_sent_to(new)[0])

    user.set_password("another-horse-battery-43")
    user.save()

    refused = Client().post(link)
    assert refused.status_code == 400
    assert LINK_INVALID in refused.content.decode()
    user.refresh_from_db()
    assert user.email != new
