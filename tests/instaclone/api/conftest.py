"""Fixtures for the API convention tests: the test URLconf, users, tokens, a fresh client IP."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from accounts.models import User
from instaclone.api.ratelimit import rate_counting_resume

DATABASES = ["default", "shards_0", "shards_1"]


@pytest.fixture(autouse=True)
def _rate_counting() -> Iterator[None]:
    """Start every test with rate counting on (a Redis test may have paused it)."""
    rate_counting_resume()
    yield
    rate_counting_resume()


@pytest.fixture
def client_ip() -> str:
    """Return an address of this test's own, so its rate counters start at zero."""
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


@pytest.fixture
def client(client_ip: str) -> Client:
    """Return a test client whose requests come from ``client_ip``."""
    return Client(REMOTE_ADDR=client_ip)


@pytest.fixture
def make_user() -> Callable[..., User]:
    """Return a factory of users (rolled back with the test)."""

    def make(*, active: bool = True) -> User:
        return User.objects.create_user(
            username=f"api_{uuid.uuid4().hex[:12]}",
            email=f"{uuid.uuid4().hex[:10]}@example.com",
            password="correct horse battery staple",
            is_active=active,
        )

    return make


@pytest.fixture
def user(make_user: Callable[..., User]) -> User:
    return make_user()


@pytest.fixture
def application() -> Application:
    return Application.objects.create(
        name="test app",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://app.example.com/callback",
    )


@pytest.fixture
def make_token(application: Application) -> Callable[..., AccessToken]:
    """Return a factory of access tokens for a user."""

    def make(
        user: User, *, scope: str = "basic", expires_in: int = 3600, **extra: Any
    ) -> AccessToken:
        return AccessToken.objects.create(
            user=user,
            application=application,
            token=secrets.token_urlsafe(24),
            scope=scope,
            expires=timezone.now() + timedelta(seconds=expires_in),
            **extra,
        )

    return make
