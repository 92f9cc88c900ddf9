"""Tokens issued before hashed storage lose their clear value and keep working."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connections
from django.test import Client
from oauth2_provider.models import AccessToken

from accounts.models import User
from instaclone.api.tokens import token_checksum

DATABASES = ["default", "shards_0", "shards_1"]
pytestmark = [pytest.mark.django_db(databases=DATABASES), pytest.mark.urls("v1_test_site")]

migration = importlib.import_module("instaclone.api.migrations.0003_tokens_hashed_at_rest")


def test_older_clear_tokens_are_blanked_and_still_work(
    client: Client, user: User, make_token: Callable[..., AccessToken]
) -> None:
    # Made the way the toolkit stored tokens before: the clear value in the token column.
    token = make_token(user)
    raw = token.token
    assert AccessToken.objects.get(pk=token.pk).token == raw

    migration.stored_tokens_blank(apps, SimpleNamespace(connection=connections["default"]))

    stored = AccessToken.objects.get(pk=token.pk)
    assert (stored.token, stored.token_checksum) == ("", token_checksum(raw))
    answer = client.get("/v1/users/self/whoami", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert (answer.status_code, answer.json()["data"]["id"]) == (200, str(user.id))
