"""Which services a profile has: their ports, logs and pid files, in start order."""

from __future__ import annotations

from .app import Celery, Gunicorn, Nginx
from .datastores import S3, Memcached, Redis
from .postgres import Postgres
from .profiles import check_profile, ports, profile_dir, weed_ports
from .service import Service


def services(profile: str) -> dict[str, Service]:
    """The profile's services by name, in start order."""
    check_profile(profile)
    base = profile_dir(profile)
    logs = base / "logs"
    port = ports(profile)
    out: dict[str, Service] = {}
    for i in (0, 1):
        name = f"postgres-{i}"
        out[name] = Postgres(
            name,
            profile,
            port[name],
            "data",
            "postgres",
            base / name / "postgres.log",
            base / name / "data/postmaster.pid",
        )
    out["redis"] = Redis(
        "redis",
        profile,
        port["redis"],
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
            port[name],
            "data",
            "memcached",
            logs / f"{name}.log",
            base / name / "memcached.pid",
        )
    out["s3"] = S3(
        "s3",
        profile,
        port["s3"],
        "data",
        "weed",
        logs / "s3.log",
        base / "s3" / "weed.pid",
        list(weed_ports(profile).values()),
    )
    for i in (0, 1):
        name = f"gunicorn-{i}"
        out[name] = Gunicorn(
            name,
            profile,
            port[name],
            "app",
            "gunicorn",
            logs / f"{name}.error.log",
            base / name / "gunicorn.pid",
        )
    out["nginx"] = Nginx(
        "nginx",
        profile,
        port["nginx"],
        "app",
        "nginx",
        logs / "nginx.error.log",
        base / "nginx" / "nginx.pid",
    )
    out["celery"] = Celery(
        "celery",
        profile,
        port["redis"],
        "app",
        "celery",
        logs / "celery.log",
        base / "celery" / "celery.pid",
    )
    return out


def service_states(profile: str) -> dict[str, str]:
    """{service name: "up" | "down" | "unresponsive"} for the profile."""
    return {name: svc.state() for name, svc in services(profile).items()}
