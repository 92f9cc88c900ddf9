"""Account web pages: sign up, log in/out, edit profile, passwords, reset by email, search."""

from __future__ import annotations

import io
import random
import re
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage
from django.core.mail.backends import locmem
from django.test import Client
from django.urls import reverse
from PIL import Image
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks, Settings

from accounts.models import Block, User
from accounts.services.users import user_create
from instaclone.sharding.connections import user_shard

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

ALL = ["default", "shards_0", "shards_1"]
PASSWORD = "correct-horse-battery-42"
REQUIRED = "This field is required."
RUN = uuid.uuid4().hex[:12]


def _name(prefix: str = "w") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def _client(*, enforce_csrf_checks: bool = False) -> Client:
    # A fresh address per client, so the per-IP abuse limits of other tests never interfere.
    address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    return Client(enforce_csrf_checks=enforce_csrf_checks, REMOTE_ADDR=address)


def _user(**fields: object) -> User:
    username = str(fields.pop("username", _name()))
    return user_create(username=username, email=f"{username}@example.com", password=PASSWORD)


def _logged_in(user: User) -> Client:
    client = _client()
    client.force_login(user)
    return client


def _session_user(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def _errors(response: TestResponse) -> list[str]:
    """Return every error message rendered on a form page."""
    form = response.context["form"]
    return [message for messages in form.errors.values() for message in messages]


# --- pages render ---------------------------------------------------------------------------


@pytest.mark.django_db(databases=ALL)
@pytest.mark.parametrize(
    ("name", "heading"),
    [
        ("accounts:signup", "<h1>Sign up</h1>"),
        ("accounts:login", "<h1>Log in</h1>"),
        ("accounts:password_reset", "<h1>Reset your password</h1>"),
        ("accounts:password_reset_done", "<h1>Check your email</h1>"),
        ("accounts:password_reset_complete", "<h1>Password changed</h1>"),
        ("accounts:search", "<h1>Search</h1>"),
    ],
)
def test_public_pages_render(name: str, heading: str) -> None:
    response = _client().get(reverse(name))
    assert response.status_code == 200
    assert heading in response.content.decode()
    assert 'href="/static/css/site.css"' in response.content.decode()


@pytest.mark.django_db(databases=ALL)
@pytest.mark.parametrize(
    ("name", "heading"),
    [
        ("accounts:edit_profile", "<h1>Edit profile</h1>"),
        ("accounts:change_password", "<h1>Change password</h1>"),
    ],
)
def test_private_pages_render_for_the_user_and_send_others_to_log_in(
    name: str, heading: str
) -> None:
    url = reverse(name)
    anonymous = _client().get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"] == f"/accounts/login/?next={url}"
    user = _user()
    response = _logged_in(user).get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert heading in page
    assert "errorlist" not in page  # a GET shows the form, not complaints about it
    assert f'href="/{user.username}/">Profile</a>' in page
    assert 'action="/accounts/logout/"' in page


# --- sign up, log in, log out ---------------------------------------------------------------


@pytest.mark.django_db(databases=ALL)
def test_sign_up_then_log_out_then_log_in_by_username_and_email() -> None:
    client = _client()
    username = _name("Flow")
    response = client.post(
        reverse("accounts:signup"),
        {
            "email": f"{username}@example.com",
            "full_name": "Flo W",
            "username": username,
            "password": PASSWORD,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get(username=username)
    assert (user.full_name, user.email) == ("Flo W", f"{username}@example.com")
    assert _session_user(client) == str(user.pk)

    assert client.get(reverse("accounts:logout")).status_code == 405  # log-out is POST only
    response = client.post(reverse("accounts:logout"))
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/")
    assert _session_user(client) is None

    for login in (username.upper(), f"{username}@EXAMPLE.com"):
        response = client.post(reverse("accounts:login"), {"login": login, "password": PASSWORD})
        assert (response.status_code, response["Location"]) == (302, "/")
        assert _session_user(client) == str(user.pk)
        client.post(reverse("accounts:logout"))


@pytest.mark.django_db(databases=ALL)
@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/accounts/edit/", "/accounts/edit/"),
        ("https://evil.example/steal", "/"),
        ("//evil.example/", "/"),
        ("", "/"),
    ],
)
def test_log_in_follows_only_safe_next_urls(next_url: str, expected: str) -> None:
    user = _user()
    response = _client().post(
        reverse("accounts:login"), {"login": user.username, "password": PASSWORD, "next": next_url}
    )
    assert (response.status_code, response["Location"]) == (302, expected)


@pytest.mark.django_db(databases=ALL)
def test_log_in_page_keeps_the_next_url() -> None:
    response = _client().get(reverse("accounts:login") + "?next=/oauth/authorize/%3Fx%3D1")
    assert (
        '<input type="hidden" name="next" value="/oauth/authorize/?x=1">'
        in response.content.decode()
    )


@pytest.mark.django_db(databases=ALL)
def test_log_in_refuses_a_wrong_password_an_unknown_name_and_a_banned_account() -> None:
    user, banned = _user(), _user()
    banned.is_active = False
    banned.save(update_fields=["is_active"])
    message = "The username or email and password do not match an active account."
    for login, password in (
        (user.username, "wrong-password"),
        (_name(), PASSWORD),
        (banned.username, PASSWORD),
    ):
        client = _client()
        response = client.post(reverse("accounts:login"), {"login": login, "password": password})
        assert response.status_code == 200
        assert response.context["form"].non_field_errors() == [message]
        assert message in response.content.decode()
        assert _session_user(client) is None


@pytest.mark.django_db(databases=ALL)
@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({}, [REQUIRED, REQUIRED]),
        ({"login": "someone"}, [REQUIRED]),
        (
            {"login": "x" * 255, "password": "p"},
            ["Ensure this value has at most 254 characters (it has 255)."],
        ),
        (
            {"login": "someone", "password": "p" * 257},
            ["Ensure this value has at most 256 characters (it has 257)."],
        ),
    ],
)
def test_log_in_form_refuses_missing_and_oversized_fields(
    fields: dict[str, str], errors: list[str]
) -> None:
    response = _client().post(reverse("accounts:login"), fields)
    assert response.status_code == 200
    assert _errors(response) == errors


@pytest.mark.django_db(databases=ALL)
def test_sign_up_refuses_a_name_taken_in_another_case() -> None:
    taken = _user()
    response = _client().post(
        reverse("accounts:signup"),
        {
            "email": f"{_name()}@example.com",
            "username": taken.username.upper(),
            "password": PASSWORD,
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"username": ["This username is taken."]}


@pytest.mark.django_db(databases=ALL)
@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({}, {"email": [REQUIRED], "username": [REQUIRED], "password": [REQUIRED]}),
        (
            {"email": "nope", "username": "fine_name", "password": PASSWORD},
            {"email": ["Enter a valid email address."]},
        ),
        (
            {"email": "a@example.com", "username": "x" * 31, "password": PASSWORD},
            {"username": ["Ensure this value has at most 30 characters (it has 31)."]},
        ),
        (
            {
                "email": "a@example.com",
                "username": "x",
                "password": PASSWORD,
                "full_name": "n" * 151,
            },
            {"full_name": ["Ensure this value has at most 150 characters (it has 151)."]},
        ),
        (
            {"email": "a@example.com", "username": "bad name", "password": PASSWORD},
            {"username": ["Usernames are 1-30 letters, digits, periods and underscores."]},
        ),
        (
            {"email": "a@example.com", "username": "Admin", "password": PASSWORD},
            {"username": ['The username "Admin" is reserved.']},
        ),
        (
            {
                "email": f"{uuid.uuid4().hex}@example.com",
                "username": _name(),
                "password": "password",
            },
            {"password": ["This password is too common."]},
        ),
    ],
)
def test_sign_up_refuses_bad_input(fields: dict[str, str], errors: dict[str, list[str]]) -> None:
    response = _client().post(reverse("accounts:signup"), fields)
    assert response.status_code == 200
    assert response.context["form"].errors == errors
    assert not User.objects.filter(email="a@example.com").exists()


# --- CSRF -----------------------------------------------------------------------------------


@pytest.mark.django_db(databases=ALL)
@pytest.mark.parametrize(
    "url",
    [
        "/accounts/signup/",
        "/accounts/login/",
        "/accounts/logout/",
        "/accounts/edit/",
        "/accounts/password/change/",
        "/accounts/password/reset/",
        "/accounts/password/reset/MQ/set-password/",
    ],
)
def test_every_form_refuses_a_post_without_csrf_token(url: str) -> None:
    client = _client(enforce_csrf_checks=True)
    client.force_login(_user())
    response = client.post(url, {"login": "x", "password": PASSWORD, "email": "a@example.com"})
    assert response.status_code == 403
    assert "CSRF" in response.content.decode()


@pytest.mark.django_db(databases=ALL)
def test_forms_carry_a_csrf_token() -> None:
    client = _client(enforce_csrf_checks=True)
    page = client.get(reverse("accounts:login")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    user = _user()
    response = client.post(
        reverse("accounts:login"),
        {"login": user.username, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
    )
    assert response.status_code == 302


# --- edit profile ---------------------------------------------------------------------------


def _jpeg(color: str = "purple") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), color).save(out, format="JPEG")
    return out.getvalue()


@pytest.mark.django_db(databases=ALL)
def test_edit_profile_saves_fields_picture_and_private_switch(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    user = _user()
    client = _logged_in(user)
    picture = io.BytesIO(_jpeg())
    picture.name = "me.jpg"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:edit_profile"),
            {
                "full_name": "Grace Hopper",
                "bio": "Compilers.",
                "website": "https://example.com/grace",
                "email": user.email,
                "is_private": "on",
                "picture": picture,
            },
        )
    assert (response.status_code, response["Location"]) == (302, "/accounts/edit/")
    user.refresh_from_db()
    try:
        assert (user.full_name, user.bio, user.website, user.is_private) == (
            "Grace Hopper",
            "Compilers.",
            "https://example.com/grace",
            True,
        )
        assert user.profile_picture.startswith(f"profiles/{user.pk}/")
        with default_storage.open(user.profile_picture) as stored, Image.open(stored) as image:
            assert image.size == (150, 150)
        page = client.get(reverse("accounts:edit_profile")).content.decode()
        assert "Your profile was saved." in page
        assert 'class="avatar" src="http' in page
        assert re.search(r'<input type="checkbox" name="is_private"[^>]* checked>', page)
        # Switching back to public: an unticked box is absent from the post.
        client.post(reverse("accounts:edit_profile"), {"email": user.email})
        user.refresh_from_db()
        assert (user.is_private, user.full_name) == (False, "")
    finally:
        default_storage.delete(user.profile_picture)


@pytest.mark.django_db(databases=ALL)
@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({}, {"email": [REQUIRED]}),
        (
            {"bio": "b" * 151},
            {"bio": ["Ensure this value has at most 150 characters (it has 151)."]},
        ),
        ({"website": "not a url"}, {"website": ["Enter a valid website address."]}),
        (
            {"website": "w" * 201},
            {"website": ["Ensure this value has at most 200 characters (it has 201)."]},
        ),
        ({"email": "bad"}, {"email": ["Enter a valid email address."]}),
    ],
)
def test_edit_profile_refuses_bad_input(
    fields: dict[str, str], errors: dict[str, list[str]]
) -> None:
    user = _user()
    data = {"email": user.email} | fields if "email" in fields or fields else {}
    response = _logged_in(user).post(reverse("accounts:edit_profile"), data)
    assert response.status_code == 200
    assert response.context["form"].errors == errors
    user.refresh_from_db()
    assert (user.bio, user.website) == ("", "")


@pytest.mark.django_db(databases=ALL)
def test_edit_profile_refuses_a_file_that_is_not_an_image() -> None:
    user = _user()
    upload = io.BytesIO(b"MZ\x90\x00 definitely not a picture")
    upload.name = "avatar.jpg"
    response = _logged_in(user).post(
        reverse("accounts:edit_profile"), {"email": user.email, "picture": upload}
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "picture": [
            "The file is not a JPEG, PNG, WebP, GIF or HEIC/HEIF image, whatever its name says."
        ]
    }
    user.refresh_from_db()
    assert user.profile_picture == ""


# --- change password ------------------------------------------------------------------------


@pytest.mark.django_db(databases=ALL)
def test_change_password_keeps_this_session_and_takes_the_new_password() -> None:
    user = _user()
    client = _logged_in(user)
    new = "tango-foxtrot-1942"
    response = client.post(
        reverse("accounts:change_password"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert (response.status_code, response["Location"]) == (302, "/accounts/password/change/")
    assert "Your password was changed." in client.get(response["Location"]).content.decode()
    assert client.get(reverse("accounts:edit_profile")).status_code == 200
    user.refresh_from_db()
    assert user.check_password(new)


@pytest.mark.django_db(databases=ALL)
@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        (
            {},
            {"old_password": [REQUIRED], "new_password1": [REQUIRED], "new_password2": [REQUIRED]},
        ),
        (
            {
                "old_password": "wrong",
                "new_password1": "tango-foxtrot-1942",
                "new_password2": "tango-foxtrot-1942",
            },
            {"old_password": ["Your old password was entered incorrectly."]},
        ),
        (
            {
                "old_password": PASSWORD,
                "new_password1": "tango-foxtrot-1942",
                "new_password2": "tango-foxtrot-1943",
            },
            {"new_password2": ["The two new passwords do not match."]},
        ),
        (
            {"old_password": PASSWORD, "new_password1": "password", "new_password2": "password"},
            {"new_password1": ["This password is too common."]},
        ),
        (
            {"old_password": PASSWORD, "new_password1": "p" * 257, "new_password2": "p" * 257},
            {
                "new_password1": ["Ensure this value has at most 256 characters (it has 257)."],
                "new_password2": ["Ensure this value has at most 256 characters (it has 257)."],
            },
        ),
    ],
)
def test_change_password_refuses_bad_input(
    fields: dict[str, str], errors: dict[str, list[str]]
) -> None:
    user = _user()
    response = _logged_in(user).post(reverse("accounts:change_password"), fields)
    assert response.status_code == 200
    assert response.context["form"].errors == errors
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


# --- password reset -------------------------------------------------------------------------


def _timed_reset(email: str) -> tuple[TestResponse, float]:
    started = time.monotonic()
    response = _client().post(reverse("accounts:password_reset"), {"email": email})
    return response, time.monotonic() - started


@pytest.mark.django_db(databases=ALL)
def test_password_reset_answers_alike_for_known_and_unknown_addresses(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PASSWORD_RESET_MIN_SECONDS = 0.5
    # Sending takes a while, as with a real SMTP server: without padding this would show.
    send = locmem.EmailBackend.send_messages

    def slow_send(self: locmem.EmailBackend, messages: Sequence[EmailMessage]) -> int:
        time.sleep(0.25)
        return send(self, messages)

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", slow_send)
    warm_up, user = _user(), _user()
    _timed_reset(warm_up.email)  # the process's first mail compiles the templates
    mail.outbox.clear()
    known, known_time = _timed_reset(user.email.upper())
    assert len(mail.outbox) == 1
    unknown, unknown_time = _timed_reset(f"{_name()}@example.com")
    assert len(mail.outbox) == 1  # nothing more for an address without an account
    assert (known.status_code, known["Location"]) == (302, "/accounts/password/reset/sent/")
    assert (unknown.status_code, unknown["Location"]) == (known.status_code, known["Location"])
    assert known.content == unknown.content
    assert 0.5 <= known_time < 1.0
    assert 0.5 <= unknown_time < 1.0
    assert abs(known_time - unknown_time) < 0.1
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert message.subject == "Reset your instaclone password"


@pytest.mark.django_db(databases=ALL)
def test_password_reset_link_sets_a_new_password(settings: Settings) -> None:
    settings.PASSWORD_RESET_MIN_SECONDS = 0
    user = _user()
    client = _client()
    client.post(reverse("accounts:password_reset"), {"email": user.email})
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", str(mail.outbox[0].body))
    assert link is not None
    form_page = client.get(link.group(1))
    assert form_page.status_code == 302  # Django swaps the token for a session and redirects
    assert client.get(form_page["Location"]).status_code == 200
    new = "sierra-echo-7731"
    response = client.post(form_page["Location"], {"new_password1": new, "new_password2": new})
    assert (response.status_code, response["Location"]) == (
        302,
        "/accounts/password/reset/complete/",
    )
    user.refresh_from_db()
    assert user.check_password(new)
    # The link is single-use.
    used = client.get(link.group(1), follow=True)
    assert "This password reset link is invalid or has already been used." in used.content.decode()


@pytest.mark.django_db(databases=ALL)
@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({}, REQUIRED),
        # Unique per run: the per-account reset limit counts even malformed addresses.
        ({"email": f"not an email {RUN}"}, "Enter a valid email address."),
        (
            {"email": RUN + "x" * 238 + "@example.com"},
            "Ensure this value has at most 254 characters (it has 262).",
        ),
    ],
)
def test_password_reset_refuses_bad_input(
    settings: Settings, fields: dict[str, str], error: str
) -> None:
    settings.PASSWORD_RESET_MIN_SECONDS = 0
    response = _client().post(reverse("accounts:password_reset"), fields)
    assert response.status_code == 200
    assert response.context["form"].errors == {"email": [error]}
    assert mail.outbox == []


# --- search ---------------------------------------------------------------------------------


@pytest.mark.django_db(databases=ALL)
def test_search_finds_by_prefix_of_username_or_name_and_hides_blocked_and_banned() -> None:
    prefix = f"srch{uuid.uuid4().hex[:8]}"
    first = _user(username=f"{prefix}_one")
    second = _user(username=f"{prefix}_two")
    by_name = _user()
    by_name.full_name = f"{prefix.upper()} Person"
    by_name.save(update_fields=["full_name"])
    banned = _user(username=f"{prefix}_banned")
    banned.is_active = False
    banned.save(update_fields=["is_active"])
    viewer = _user()
    with user_shard(viewer.pk):
        Block.objects.create(user_id=viewer.pk, target_id=second.pk)

    response = _client().get(reverse("accounts:search"), {"q": prefix.upper()})
    assert [p["username"] for p in response.context["results"]] == sorted(
        [first.username, second.username, by_name.username], key=str.lower
    )
    seen = _logged_in(viewer).get(reverse("accounts:search"), {"q": prefix})
    assert [p["username"] for p in seen.context["results"]] == sorted(
        [first.username, by_name.username], key=str.lower
    )
    assert f'<a href="/{first.username}/">{first.username}</a>' in seen.content.decode()


@pytest.mark.django_db(databases=ALL)
def test_search_with_no_match_or_an_oversized_query_answers_200() -> None:
    empty = _client().get(reverse("accounts:search"), {"q": f"zz{uuid.uuid4().hex}"})
    assert empty.status_code == 200
    assert "No one matches" in empty.content.decode()
    long = _client().get(reverse("accounts:search"), {"q": "q" * 151})
    assert long.status_code == 200
    assert long.context["results"] == []
    assert "Ensure this value has at most 150 characters (it has 151)." in long.content.decode()
