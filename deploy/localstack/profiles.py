"""The two profiles: their ports, their directories under .run/ and their app environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .errors import StackError

REPO = Path(__file__).resolve().parents[2]
RUN = REPO / ".run"
VENV_BIN = REPO / ".venv" / "bin"
DEPLOY = REPO / "deploy"

PROFILES = ("dev", "test")

# Every port a profile opens. The two profiles share none (tests/deploy/test_stack.py checks).
PORTS: dict[str, dict[str, int]] = {
    "dev": {
        "postgres-0": 25432,
        "postgres-1": 25433,
        "redis": 26379,
        "memcached-0": 21211,
        "memcached-1": 21212,
        "s3": 28333,
        "gunicorn-0": 28001,
        "gunicorn-1": 28002,
        "nginx": 28080,
    },
    "test": {
        "postgres-0": 35432,
        "postgres-1": 35433,
        "redis": 36379,
        "memcached-0": 31211,
        "memcached-1": 31212,
        "s3": 38333,
        "gunicorn-0": 38001,
        "gunicorn-1": 38002,
        "nginx": 38080,
    },
}

# The other ports `weed mini` opens besides S3. Its defaults (9333, 8888, 9340, 8181, 7333, 23646
# and each +10000 for gRPC) would clash between profiles, so every one is set. The worker inside
# `weed mini` dials the admin gRPC port at admin port + 10000 whatever -admin.port.grpc says, so
# keep that offset. WebDAV, Iceberg and Lance are turned off.
WEED_PORTS: dict[str, dict[str, int]] = {
    "dev": {
        "master.port": 28340,
        "master.port.grpc": 28341,
        "volume.port": 28342,
        "volume.port.grpc": 28343,
        "filer.port": 28344,
        "filer.port.grpc": 28345,
        "s3.port.grpc": 28346,
        "admin.port": 28347,
        "admin.port.grpc": 38347,
    },
    "test": {
        "master.port": 38340,
        "master.port.grpc": 38341,
        "volume.port": 38342,
        "volume.port.grpc": 38343,
        "filer.port": 38344,
        "filer.port.grpc": 38345,
        "s3.port.grpc": 38346,
        "admin.port": 38357,
        "admin.port.grpc": 48357,
    },
}

SETTINGS_MODULE = {"dev": "instaclone.settings.base", "test": "instaclone.settings.test"}

S3_BUCKET = "instaclone"
S3_ACCESS_KEY = "instaclone"
S3_SECRET_KEY = "instaclone-secret"  # noqa: S105 - the local stack's fixed credentials
DB_ROLE = "instaclone"
LOGICAL_SHARDS = "64"
HEALTH_PATH = "/healthz"

DATA_SERVICES = ("postgres-0", "postgres-1", "redis", "memcached-0", "memcached-1", "s3")
APP_SERVICES = ("gunicorn-0", "gunicorn-1", "nginx", "celery")
ALL_SERVICES = DATA_SERVICES + APP_SERVICES


def profile_dir(profile: str) -> Path:
    check_profile(profile)
    return RUN / profile


def check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise StackError(f"unknown profile {profile!r}; use one of {', '.join(PROFILES)}")


def all_ports(profile: str) -> list[int]:
    """Every TCP port the profile's services listen on (the weed internals included)."""
    check_profile(profile)
    return sorted([*PORTS[profile].values(), *WEED_PORTS[profile].values()])


def secret_key(profile: str) -> str:
    """The profile's SECRET_KEY, made once and kept in .run/<profile>/secret_key."""
    path = profile_dir(profile) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50) + "\n")
    return path.read_text().strip()


def profile_env(profile: str = "dev") -> dict[str, str]:
    """The environment every app process (gunicorn, celery, manage.py) of ``profile`` gets."""
    check_profile(profile)
    p = PORTS[profile]
    base = profile_dir(profile)
    pg0 = f"postgres://{DB_ROLE}@127.0.0.1:{p['postgres-0']}"
    pg1 = f"postgres://{DB_ROLE}@127.0.0.1:{p['postgres-1']}"
    return {
        "INSTACLONE_PROFILE": profile,
        "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE[profile],
        "DATABASE_URL": f"{pg0}/instaclone",
        "SHARD_DATABASE_URLS": f"{pg0}/instaclone_shards,{pg1}/instaclone_shards",
        "REDIS_URL": f"redis://127.0.0.1:{p['redis']}/0",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{p['redis']}/1",
        "MEMCACHED_SERVERS": f"127.0.0.1:{p['memcached-0']},127.0.0.1:{p['memcached-1']}",
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{p['s3']}",
        "S3_BUCKET": S3_BUCKET,
        "S3_ACCESS_KEY": S3_ACCESS_KEY,
        "S3_SECRET_KEY": S3_SECRET_KEY,
        "STATIC_ROOT": str(base / "static"),
        "MEDIA_ROOT": str(base / "media"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOGICAL_SHARDS": LOGICAL_SHARDS,
        "SECRET_KEY": secret_key(profile),
        "APP_URL": f"http://127.0.0.1:{p['nginx']}",
    }


def app_env(profile: str, **extra: str) -> dict[str, str]:
    """os.environ plus the profile's variables, for a child process of the app tier."""
    env = dict(os.environ)
    env.update(profile_env(profile))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env
