"""Read typed settings from the process environment.

This is the one place configuration enters the project: ``base.py`` calls these readers and
nothing else in the code base reads ``os.environ`` for settings.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str) -> str:
    """Return the variable ``name`` or ``default`` when it is unset or empty."""
    value = os.environ.get(name, "").strip()
    return value or default


def env_int(name: str, default: int) -> int:
    """Return the variable ``name`` as an integer."""
    raw = env_str(name, str(default))
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_float(name: str, default: float) -> float:
    """Return the variable ``name`` as a float."""
    raw = env_str(name, str(default))
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None


def env_bool(name: str, default: bool) -> bool:
    """Return the variable ``name`` read as a yes/no flag."""
    raw = env_str(name, "1" if default else "0").lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean, got {raw!r}")


def env_list(name: str, default: str) -> list[str]:
    """Return the variable ``name`` split on commas, blanks dropped."""
    return [part.strip() for part in env_str(name, default).split(",") if part.strip()]


def database_from_url(
    url: str, *, connect_timeout: int, statement_timeout_ms: int
) -> dict[str, object]:
    """Turn ``postgres://user:pass@host:port/name`` into a Django DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"} or not parts.path.strip("/"):
        raise ImproperlyConfigured(f"not a postgres://host:port/name URL: {url!r}")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.strip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or 5432),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            "connect_timeout": connect_timeout,
            "options": f"-c statement_timeout={statement_timeout_ms}",
        },
    }


def env_secret(name: str, *, development_value: str, development: bool) -> str:
    """Return the secret ``name``; outside development refuse it missing or at its known value.

    ``development_value`` is public (it is in this repository), so a deployment that kept it
    would sign sessions or admit clients with a key anyone can read.
    """
    value = os.environ.get(name, "").strip()
    if development:
        return value or development_value
    if not value:
        raise ImproperlyConfigured(
            f"{name} is not set: production needs a secret of its own "
            "(INSTACLONE_DEVELOPMENT=1 allows the development value, on a developer machine only)"
        )
    if value == development_value:
        raise ImproperlyConfigured(
            f"{name} is the development value from the repository: set a secret of its own "
            "(INSTACLONE_DEVELOPMENT=1 allows it, on a developer machine only)"
        )
    return value
