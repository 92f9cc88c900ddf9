"""The authentication backend: Django's model backend with the log-in attempt limits inside.

Every door that logs a person in (the web log-in, /admin/login/, the OAuth password grant through
the toolkit's ``validate_user``, anything added later) calls ``authenticate()``, so limiting
there covers them all with one set of rules (accounts/limits.py). Over a limit, or with the
limiter down, the backend raises ``LimitExceeded`` or ``LimiterUnavailable``. Neither is a
``PermissionDenied``, which ``django.contrib.auth.authenticate`` would swallow (it stops and
answers None, indistinguishable from a wrong password), so both reach the door: the web log-in
and the token endpoint catch them, and ``accounts.middleware.LoginRefusalMiddleware`` answers
for any other (the admin's stock log-in view).
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from accounts.limits import (
    LimiterUnavailable,
    check_login_allowed,
    clear_login_failures,
    record_login_failure,
)
from accounts.models import User
from accounts.services.users import user_by_login
from instaclone.clientip import UNKNOWN, client_ip

logger = logging.getLogger(__name__)

# Longer than any username or email we accept; refused before it reaches a query or a hasher.
MAX_LOGIN_LENGTH = 254


def login_name_acceptable(login: str) -> bool:
    """Return whether ``login`` could name an account (no NUL byte, not over-long)."""
    return "\x00" not in login and len(login) <= MAX_LOGIN_LENGTH


class LimitedModelBackend(ModelBackend):
    """Log in by username (any case) or email, within the attempt limits."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        # No request means no client (a shell, a management command): counted as one address,
        # so a caller that forgets to pass the request is limited, not waved through.
        ip = client_ip(request) if request is not None else UNKNOWN
        user = user_by_login(login=username) if login_name_acceptable(username) else None
        # Count against the account however it was named (username in any case, or email).
        account = user.username if user is not None else username
        check_login_allowed(username=account, ip=ip)
        if user is None:
            # Hash anyway, so unknown and known names take about the same time.
            User().set_password(password)
        elif user.check_password(password) and self.user_can_authenticate(user):
            try:
                clear_login_failures(username=account, ip=ip)
            except LimiterUnavailable:
                # This log-in passed the limiter; its stale count only expires later.
                logger.warning("could not clear log-in attempts for user %s", user.pk)
            return user
        record_login_failure(ip=ip)
        return None
