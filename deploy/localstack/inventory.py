"""Which services a profile has: their ports, logs and pid files, in start order."""

from __future__ import annotations

from .app import Celery, Gunicorn, Nginx
from .datastores import S3, Memcached, Redis
from .postgres import Postgres
from .profiles import PORTS, WEED_PORTS, check_profile, profile_dir
from .service import Service


def services(profile: str) -> dict[str, Service]:
    """The profile's services by name, in start order."""
    check_profile(profile)
    base = profile_dir(profile)
    logs = base / "logs"
    ports = PORTS[profile]
    out: dict[str, Service] = {}
    for i in (0, 1):
        name = f"postgres-{i}"
        out[name] = Postgres(
            name,
            profile,
            ports[name],
            "data",
            "postgres",
            base / name / "postgres.log",
            base / name / "data/postmaster.pid",
        )
    out["redis"] = Redis(
        "redis",
        profile,
        ports["redis"],
        "data",
        "redis-server",
        logs / "redis.log",
        base / "redis" / "redis.pid",
    )
    for i in (0, 1):
        name = f"memcached-{i}"
        out[name] = Memcached(
            name,
            profile,
            ports[name],
            "data",
            "memcached",
            logs / f"{name}.log",
            base / name / "memcached.pid",
        )
    out["s3"] = S3(
        "s3",
        profile,
        ports["s3"],
        "data",
        "weed",
        logs / "s3.log",
        base / "s3" / "weed.pid",
        list(WEED_PORTS[profile].values()),
    )
    for i in (0, 1):
        name = f"gunicorn-{i}"
        out[name] = Gunicorn(
            name,
            profile,
            ports[name],
            "app",
            "gunicorn",
            logs / f"{name}.error.log",
            base / name / "gunicorn.pid",
        )
    out["nginx"] = Nginx(
        "nginx",
        profile,
        ports["nginx"],
        "app",
        "nginx",
        logs / "nginx.error.log",
        base / "nginx" / "nginx.pid",
    )
    out["celery"] = Celery(
        "celery",
        profile,
        ports["redis"],
        "app",
        "celery",
        logs / "celery.log",
        base / "celery" / "celery.pid",
    )
    return out


def service_states(profile: str) -> dict[str, str]:
    """{service name: "up" | "down" | "unresponsive"} for the profile."""
    return {name: svc.state() for name, svc in services(profile).items()}
