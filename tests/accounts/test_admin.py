"""The admin for moderators: the Moderators group, the audited ban actions, and what is refused."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.backends.cached_db import KEY_PREFIX
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken

from accounts.admin import MAX_USERS_PER_ACTION
from accounts.models import ModeratorAction, User
from accounts.services import graph
from accounts.services.moderation import (
    ModeratorNotAllowed,
    ReasonInvalid,
    TargetProtected,
    TargetUnchanged,
    user_deactivate,
    user_reactivate,
)
from instaclone.sharding.connections import user_shard
from photos.models import Photo

pytestmark = pytest.mark.django_db(databases=["default", "shards_0", "shards_1"])

PASSWORD = "correct horse battery staple"
CHANGELIST = reverse("admin:accounts_user_changelist")
EXPECTED_PERMISSIONS = {"view_user", "change_user", "view_moderatoraction"}


def _user(name: str, **fields: object) -> User:
    username = f"{name}_{uuid.uuid4().hex[:10]}"
    return User.objects.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD, **fields
    )


@pytest.fixture
def moderator() -> User:
    user = _user("mod", is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


@pytest.fixture
def moderator_client(moderator: User) -> Client:
    client = Client()
    client.force_login(moderator)
    return client


@pytest.fixture
def target() -> User:
    return _user("target", full_name="Zed Target")


def _act(client: Client, action: str, users: list[User], reason: str | None) -> Any:
    """Post the action from the changelist, then (with a reason) the intermediate form."""
    ids = [str(user.pk) for user in users]
    first = client.post(CHANGELIST, {"action": action, "_selected_action": ids, "index": "0"})
    assert first.status_code == 200
    if reason is None:
        return first
    data = {"action": action, "_selected_action": ids, "apply": "yes", "reason": reason}
    return client.post(CHANGELIST, data, follow=True)


def _audit_rows(user: User) -> list[tuple[int, str, str]]:
    rows = ModeratorAction.objects.filter(target_type="user", target_id=user.pk).order_by("id")
    return list(rows.values_list("moderator_id", "action", "reason"))


def test_moderators_group_has_exactly_the_moderation_permissions() -> None:
    group = Group.objects.get(name="Moderators")
    permissions = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert permissions == {("accounts", codename) for codename in EXPECTED_PERMISSIONS}


def test_moderators_group_migration_is_idempotent_and_repairs_drift() -> None:
    migration = importlib.import_module("accounts.migrations.0005_moderators_group")
    state = MigrationExecutor(connections["default"]).loader.project_state(
        ("accounts", "0005_moderators_group")
    )
    group = Group.objects.get(name="Moderators")
    group.permissions.add(Permission.objects.get(codename="delete_user"))
    editor = SimpleNamespace(connection=connections["default"])

    migration.moderators_group_create(state.apps, editor)
    migration.moderators_group_create(state.apps, editor)

    assert Group.objects.filter(name="Moderators").count() == 1
    assert set(group.permissions.values_list("codename", flat=True)) == EXPECTED_PERMISSIONS


def test_moderator_opens_changelist_and_searches_by_prefix(
    moderator_client: Client, target: User
) -> None:
    other = _user("other", full_name="Someone Else")
    prefix = target.username[:14].upper()

    listing = moderator_client.get(CHANGELIST)
    by_username = moderator_client.get(CHANGELIST, {"q": prefix})
    by_full_name = moderator_client.get(CHANGELIST, {"q": "zed targ"})
    by_email = moderator_client.get(CHANGELIST, {"q": f"{target.username}@EXAMPLE"})

    assert listing.status_code == 200
    for response in (by_username, by_full_name, by_email):
        assert response.status_code == 200
        found = {user.pk for user in response.context["cl"].result_list}
        assert target.pk in found
        assert other.pk not in found


def test_moderator_deactivates_with_reason_and_credentials_are_revoked(
    moderator: User,
    moderator_client: Client,
    target: User,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    target_client = Client()
    assert target_client.login(username=target.username, password=PASSWORD) is True
    session_key = target_client.session.session_key
    assert session_key is not None
    app = Application.objects.create(
        name="app", client_type="public", authorization_grant_type="password"
    )
    expires = timezone.now() + timedelta(days=1)
    access = AccessToken.objects.create(
        user=target, application=app, token=uuid.uuid4().hex, expires=expires, scope="basic"
    )
    RefreshToken.objects.create(
        user=target, application=app, token=uuid.uuid4().hex, access_token=access
    )

    form = _act(moderator_client, "deactivate_with_reason", [target], None)
    assert form.templates[0].name == "admin/accounts/user/moderation_reason.html"
    assert target.username in form.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = _act(moderator_client, "deactivate_with_reason", [target], "  spam bot  ")

    target.refresh_from_db()
    assert done.redirect_chain[-1][1] == 302
    assert f"Deactivated 1: {target.username}." in done.content.decode()
    assert (target.is_active, target.ban_reason) == (False, "spam bot")
    assert _audit_rows(target) == [(moderator.pk, "user_deactivate", "spam bot")]
    assert Client().login(username=target.username, password=PASSWORD) is False
    assert not Session.objects.filter(session_key=session_key).exists()
    assert caches[settings.SESSION_CACHE_ALIAS].get(KEY_PREFIX + session_key) is None
    assert not AccessToken.objects.filter(user=target).exists()
    assert not RefreshToken.objects.filter(user=target).exists()


@pytest.mark.parametrize("reason", ["", "   "])
def test_missing_reason_shows_error_and_changes_nothing(
    moderator_client: Client, target: User, reason: str
) -> None:
    response = _act(moderator_client, "deactivate_with_reason", [target], reason)

    target.refresh_from_db()
    assert response.status_code == 200
    assert response.redirect_chain == []
    assert response.context["form"].errors == {"reason": ["This field is required."]}
    assert "This field is required." in response.content.decode()
    assert target.is_active is True
    assert _audit_rows(target) == []


def test_moderator_reactivates_with_reason(
    moderator: User,
    moderator_client: Client,
    target: User,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        user_deactivate(user_id=target.pk, moderator_id=moderator.pk, reason="spam")

    done = _act(moderator_client, "reactivate_with_reason", [target], "appeal accepted")

    target.refresh_from_db()
    assert f"Reactivated 1: {target.username}." in done.content.decode()
    assert (target.is_active, target.ban_reason) == (True, "")
    assert _audit_rows(target) == [
        (moderator.pk, "user_deactivate", "spam"),
        (moderator.pk, "user_reactivate", "appeal accepted"),
    ]
    assert Client().login(username=target.username, password=PASSWORD) is True


def test_moderator_cannot_deactivate_superuser_or_self(
    moderator: User, moderator_client: Client
) -> None:
    admin = _user("root", is_staff=True, is_superuser=True)

    done = _act(moderator_client, "deactivate_with_reason", [admin, moderator], "no")

    page = done.content.decode()
    assert (
        f"Skipped {admin.username}: {admin.username} is a staff account; ask a superuser." in page
    )
    assert f"Skipped {moderator.username}: you cannot moderate your own account." in page
    assert "Deactivated" not in page
    assert User.objects.filter(pk__in=[admin.pk, moderator.pk], is_active=True).count() == 2
    assert ModeratorAction.objects.filter(target_id__in=[admin.pk, moderator.pk]).count() == 0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (dict(reason="x" * 1001), ReasonInvalid, "the reason must be at most 1000 characters"),
        (dict(reason=" \n "), ReasonInvalid, "a reason is required"),
        (dict(target="staff"), TargetProtected, "is a staff account; ask a superuser"),
        (dict(moderator="plain"), ModeratorNotAllowed, "you may not moderate accounts"),
        (dict(target="inactive"), TargetUnchanged, "is already deactivated"),
    ],
)
def test_deactivate_refuses(
    moderator: User, call: dict[str, str], error: type[Exception], message: str
) -> None:
    targets = {
        "staff": _user("staff", is_staff=True),
        "inactive": _user("gone", is_active=False),
        "plain": _user("plain"),
    }
    target = targets[call.get("target", "plain")]
    acting = targets["plain"] if call.get("moderator") == "plain" else moderator

    with pytest.raises(error) as raised:
        user_deactivate(
            user_id=target.pk, moderator_id=acting.pk, reason=call.get("reason", "spam")
        )

    assert message in str(raised.value)
    assert ModeratorAction.objects.filter(target_id=target.pk).count() == 0


def test_reactivate_refuses_active_account(moderator: User, target: User) -> None:
    with pytest.raises(TargetUnchanged, match="is already active"):
        user_reactivate(user_id=target.pk, moderator_id=moderator.pk, reason="why")


def test_moderator_cannot_add_delete_or_grant(
    moderator: User, moderator_client: Client, target: User
) -> None:
    group = Group.objects.get(name="Moderators")
    change_url = reverse("admin:accounts_user_change", args=[target.pk])
    forbidden = [
        moderator_client.get(reverse("admin:accounts_user_add")),
        moderator_client.get(reverse("admin:accounts_user_delete", args=[target.pk])),
        moderator_client.post(reverse("admin:accounts_user_delete", args=[target.pk])),
        moderator_client.get(reverse("admin:auth_user_password_change", args=[target.pk])),
        moderator_client.post(
            change_url, {"username": target.username, "is_superuser": "on", "is_staff": "on"}
        ),
        moderator_client.post(
            reverse("admin:accounts_user_change", args=[moderator.pk]),
            {"username": moderator.username, "is_superuser": "on", "groups": [group.pk]},
        ),
        moderator_client.get(reverse("admin:auth_group_changelist")),
        moderator_client.get(reverse("admin:auth_group_add")),
        moderator_client.post(
            reverse("admin:auth_group_change", args=[group.pk]), {"name": group.name}
        ),
    ]
    moderator_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [target.pk], "post": "yes"}
    )

    assert [response.status_code for response in forbidden] == [403] * len(forbidden)
    assert User.objects.filter(pk=target.pk, is_staff=False, is_superuser=False).exists()
    moderator.refresh_from_db()
    assert moderator.is_superuser is False
    assert set(group.permissions.values_list("codename", flat=True)) == EXPECTED_PERMISSIONS


def test_change_page_is_read_only_with_counts_and_no_password_hash(
    moderator_client: Client, target: User
) -> None:
    # Counts that differ from each other and from a fresh account's zeros: 2 photos, 1 follow.
    graph.follow(follower_id=target.pk, target_id=_user("followed").pk)
    with user_shard(target.pk) as shard, transaction.atomic(using=shard.alias):
        for _ in range(2):
            Photo.objects.create(user_id=target.pk)
        graph.locked_counts(target.pk)
        graph.bump(target.pk, media=2)

    response = moderator_client.get(reverse("admin:accounts_user_change", args=[target.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="_save"' not in page
    assert target.password not in page
    assert target.password.split("$")[-1] not in page
    assert "2 media, 1 follows, 0 followed by" in page


def test_non_staff_are_sent_to_admin_login() -> None:
    member = Client()
    member.force_login(_user("member"))
    login = reverse("admin:login")

    for client in (member, Client()):
        response = client.get(CHANGELIST)
        assert response.status_code == 302
        assert response["Location"] == f"{login}?next={CHANGELIST}"


@pytest.mark.parametrize("role", ["moderator", "superuser"])
def test_audit_rows_cannot_be_added_changed_or_deleted(
    role: str, moderator: User, moderator_client: Client, target: User
) -> None:
    row_id = user_deactivate(user_id=target.pk, moderator_id=moderator.pk, reason="spam")
    client = moderator_client
    if role == "superuser":
        client = Client()
        client.force_login(_user("root", is_staff=True, is_superuser=True))
    change_url = reverse("admin:accounts_moderatoraction_change", args=[row_id])

    listing = client.get(reverse("admin:accounts_moderatoraction_changelist"))
    viewed = client.get(change_url)
    refused = [
        client.get(reverse("admin:accounts_moderatoraction_add")),
        client.post(reverse("admin:accounts_moderatoraction_add"), {"reason": "forged"}),
        client.post(change_url, {"reason": "edited"}),
        client.get(reverse("admin:accounts_moderatoraction_delete", args=[row_id])),
        client.post(reverse("admin:accounts_moderatoraction_delete", args=[row_id])),
    ]

    assert (listing.status_code, viewed.status_code) == (200, 200)
    assert target.username in listing.content.decode()
    assert 'name="_save"' not in viewed.content.decode()
    assert [response.status_code for response in refused] == [403] * len(refused)
    assert _audit_rows(target) == [(moderator.pk, "user_deactivate", "spam")]


def test_action_refuses_more_accounts_than_the_limit(moderator_client: Client) -> None:
    users = User.objects.bulk_create(
        User(username=f"bulk_{uuid.uuid4().hex[:12]}") for _ in range(MAX_USERS_PER_ACTION + 1)
    )
    ids = [user.pk for user in users]
    data = {"action": "deactivate_with_reason", "_selected_action": ids, "index": "0"}

    done = moderator_client.post(CHANGELIST, data, follow=True)

    assert f"Select at most {MAX_USERS_PER_ACTION} accounts at a time." in done.content.decode()
    assert User.objects.filter(pk__in=ids, is_active=True).count() == len(ids)


def test_superuser_edits_profile_but_not_ban_state_on_the_change_form(target: User) -> None:
    client = Client()
    client.force_login(_user("root", is_staff=True, is_superuser=True))
    group = Group.objects.get(name="Moderators")
    url = reverse("admin:accounts_user_change", args=[target.pk])
    form = {"username": target.username, "full_name": "New Name", "email": target.email}
    form |= {"date_joined_0": "2011-10-06", "date_joined_1": "12:00:00", "groups": [group.pk]}

    page = client.get(url)
    saved = client.post(url, form)

    target.refresh_from_db()
    assert page.status_code == 200
    assert target.password.split("$")[-1] not in page.content.decode()
    assert saved.status_code == 302
    assert (target.full_name, target.is_active) == ("New Name", True)
    assert list(target.groups.values_list("name", flat=True)) == ["Moderators"]
