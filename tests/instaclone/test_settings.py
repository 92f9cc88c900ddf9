"""Production settings: real secrets required, and ``check --deploy`` reports nothing."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from instaclone.settings.env import env_secret

ROOT = Path(__file__).resolve().parents[2]
DEV_KEY = "insecure-local-development-key-change-me-in-production"


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run manage.py with base settings and only ``env`` (no development flag inherited)."""
    clean = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "instaclone.settings.base"}
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, str(ROOT / "manage.py"), *args],
        env={**clean, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_with_production_settings_reports_no_issue() -> None:
    done = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=secrets.token_urlsafe(50),
        FIRST_PARTY_CLIENT_SECRET=secrets.token_urlsafe(32),
    )

    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        "System check identified no issues (2 silenced).\n",
        "",
    )


def test_production_refuses_to_start_without_a_secret_key() -> None:
    done = _manage("check", FIRST_PARTY_CLIENT_SECRET=secrets.token_urlsafe(32))

    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: SECRET_KEY is not set: production needs "
        "a secret of its own (INSTACLONE_DEVELOPMENT=1 allows the development value, on a "
        "developer machine only)"
    )


def test_production_refuses_the_development_client_secret() -> None:
    done = _manage(
        "check",
        SECRET_KEY=secrets.token_urlsafe(50),
        FIRST_PARTY_CLIENT_SECRET="instaclone-ios-dev-secret",
    )

    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: FIRST_PARTY_CLIENT_SECRET is the "
        "development value from the repository: set a secret of its own "
        "(INSTACLONE_DEVELOPMENT=1 allows it, on a developer machine only)"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "",
            "SECRET_KEY is not set: production needs a secret of its own "
            "(INSTACLONE_DEVELOPMENT=1 allows the development value, on a developer machine only)",
        ),
        (
            "  ",
            "SECRET_KEY is not set: production needs a secret of its own "
            "(INSTACLONE_DEVELOPMENT=1 allows the development value, on a developer machine only)",
        ),
        (
            DEV_KEY,
            "SECRET_KEY is the development value from the repository: set a secret of its own "
            "(INSTACLONE_DEVELOPMENT=1 allows it, on a developer machine only)",
        ),
    ],
)
def test_env_secret_refuses_outside_development(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("SECRET_KEY", value)

    with pytest.raises(ImproperlyConfigured) as refused:
        env_secret("SECRET_KEY", development_value=DEV_KEY, development=False)

    assert str(refused.value) == message


def test_env_secret_in_development_falls_back_to_the_development_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)

    assert env_secret("SECRET_KEY", development_value=DEV_KEY, development=True) == DEV_KEY
    monkeypatch.setenv("SECRET_KEY", "k" * 50)
    assert env_secret("SECRET_KEY", development_value=DEV_KEY, development=True) == "k" * 50
    assert env_secret("SECRET_KEY", development_value=DEV_KEY, development=False) == "k" * 50
