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

# Every port a profile opens, before any move (see ``ports``). The two profiles share none
# (tests/deploy/test_stack.py checks), and all lie below Linux's ephemeral range (32768-60999),
# where outgoing connections of any process take their source ports: a server restarted on such
# a port can find it taken for a while, and a probe of a free one can connect to itself.
DEFAULT_PORTS: dict[str, dict[str, int]] = {
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
        "postgres-0": 15432,
        "postgres-1": 15433,
        "redis": 16379,
        "memcached-0": 16211,
        "memcached-1": 16212,
        "s3": 18333,
        "gunicorn-0": 18001,
        "gunicorn-1": 18002,
        "nginx": 18080,
    },
}

# The other ports `weed mini` opens besides S3. Its defaults (9333, 8888, 9340, 8181, 7333, 23646
# and each +10000 for gRPC) would clash between profiles, so every one is set. The worker inside
# `weed mini` dials the admin gRPC port at admin port + 10000 whatever -admin.port.grpc says, so
# keep that offset. WebDAV, Iceberg and Lance are turned off.
DEFAULT_WEED_PORTS: dict[str, dict[str, int]] = {
    "dev": {
        "master.port": 28340,
        "master.port.grpc": 28341,
        "volume.port": 28342,
        "volume.port.grpc": 28343,
        "filer.port": 28344,
        "filer.port.grpc": 28345,
        "s3.port.grpc": 28346,
        "admin.port": 21347,
        "admin.port.grpc": 31347,
    },
    "test": {
        "master.port": 18340,
        "master.port.grpc": 18341,
        "volume.port": 18342,
        "volume.port.grpc": 18343,
        "filer.port": 18344,
        "filer.port.grpc": 18345,
        "s3.port.grpc": 18346,
        "admin.port": 18357,
        "admin.port.grpc": 28357,
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


def port_offset(profile: str) -> int:
    """How far the profile's ports are moved from their defaults (0 unless ``up`` had to)."""
    try:
        return int((profile_dir(profile) / "port-offset").read_text())
    except (OSError, ValueError):
        return 0


def set_port_offset(profile: str, offset: int) -> None:
    path = profile_dir(profile) / "port-offset"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{offset}\n")


def ports(profile: str) -> dict[str, int]:
    """{service: port} of the profile as its stack runs (or will run) now."""
    check_profile(profile)
    offset = port_offset(profile)
    return {name: port + offset for name, port in DEFAULT_PORTS[profile].items()}


def weed_ports(profile: str) -> dict[str, int]:
    """{weed flag: port} of the profile's S3 server, moved like ``ports``."""
    check_profile(profile)
    offset = port_offset(profile)
    return {flag: port + offset for flag, port in DEFAULT_WEED_PORTS[profile].items()}


def all_ports(profile: str, offset: int | None = None) -> list[int]:
    """Every TCP port the profile's services listen on (the weed internals included)."""
    check_profile(profile)
    if offset is None:
        offset = port_offset(profile)
    defaults = [*DEFAULT_PORTS[profile].values(), *DEFAULT_WEED_PORTS[profile].values()]
    return sorted(port + offset for port in defaults)


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
    p = ports(profile)
    base = profile_dir(profile)
    pg0 = f"postgres://{DB_ROLE}@127.0.0.1:{p['postgres-0']}"
    pg1 = f"postgres://{DB_ROLE}@127.0.0.1:{p['postgres-1']}"
    return {
        "INSTACLONE_PROFILE": profile,
        # A developer machine: plain HTTP and the repository's development client secret.
        "INSTACLONE_DEVELOPMENT": "1",
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
