"""docker-compose.yml agrees with the settings the code reads (no Docker engine needed)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from instaclone.settings.env import database_from_url

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
BASE_SETTINGS = ROOT / "instaclone" / "settings" / "base.py"

APP_SERVICES = ("web1", "web2", "worker")
WEB_SERVICES = ("web1", "web2")
BACKING_SERVICES = (
    "postgres-users",
    "postgres-shards-0",
    "postgres-shards-1",
    "redis",
    "memcached-0",
    "memcached-1",
    "s3",
)
# Image name prefix -> kind of server, and the port each kind listens on inside its container.
IMAGE_KINDS = {
    "postgres": "postgres",
    "redis": "redis",
    "memcached": "memcached",
    "chrislusf/seaweedfs": "s3",
}
CONTAINER_PORTS = {"postgres": 5432, "redis": 6379, "memcached": 11211, "s3": 8333}
# Variables whose defaults (loopback addresses, a development key) are wrong in a container.
REQUIRED = {
    "DATABASE_URL",
    "SHARD_DATABASE_URLS",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "MEMCACHED_SERVERS",
    "S3_ENDPOINT_URL",
    "SECRET_KEY",
    "FIRST_PARTY_CLIENT_SECRET",
    "ALLOWED_HOSTS",
}
# Read by Django itself, not through instaclone.settings.env.
READ_BY_DJANGO = {"DJANGO_SETTINGS_MODULE"}
ENV_READERS = {"env_str", "env_int", "env_float", "env_bool", "env_list", "env_secret"}
WEB_PORT = 8000


def settings_reads() -> dict[str, object]:
    """Return each variable base.py reads through the env readers, with its literal default."""
    reads: dict[str, object] = {}
    for node in ast.walk(ast.parse(BASE_SETTINGS.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id not in ENV_READERS or not node.args:
            continue
        name = node.args[0]
        if isinstance(name, ast.Constant) and isinstance(name.value, str):
            default = node.args[1] if len(node.args) > 1 else None
            reads[name.value] = default.value if isinstance(default, ast.Constant) else None
    return reads


def environment(service: str) -> dict[str, str]:
    """Return a service's environment with ${VAR:-default} replaced by its default."""
    raw = SERVICES[service].get("environment", {})
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {k: re.sub(r"\$\{\w+:?-([^}]*)\}", r"\1", str(v)) for k, v in raw.items()}


def kind(service: str) -> str:
    image = SERVICES[service].get("image", "")
    return next((k for prefix, k in IMAGE_KINDS.items() if image.startswith(prefix)), "")


def words(value: object) -> str:
    return " ".join(value) if isinstance(value, list) else str(value or "")


def address(value: str) -> tuple[str, int]:
    """Return (host, port) of a URL or a bare host:port."""
    parts = urlsplit(value if "://" in value else f"tcp://{value}")
    assert parts.hostname and parts.port, f"{value!r} names no host and port"
    return parts.hostname, parts.port


def app_env() -> dict[str, str]:
    return environment("web1")


def test_required_services_exist() -> None:
    assert {"nginx", *APP_SERVICES, *BACKING_SERVICES} <= set(SERVICES)
    assert {service: kind(service) for service in BACKING_SERVICES} == {
        "postgres-users": "postgres",
        "postgres-shards-0": "postgres",
        "postgres-shards-1": "postgres",
        "redis": "redis",
        "memcached-0": "memcached",
        "memcached-1": "memcached",
        "s3": "s3",
    }


def test_app_services_share_one_image_and_environment() -> None:
    builds = {
        service: (SERVICES[service]["build"], SERVICES[service]["image"])
        for service in APP_SERVICES
    }
    assert len({repr(build) for build in builds.values()}) == 1, builds
    assert builds["web1"][0]["dockerfile"] == "deploy/Dockerfile"
    assert environment("web2") == app_env()
    assert environment("worker") == app_env()
    assert words(SERVICES["worker"]["command"]).startswith("celery -A instaclone worker")


def test_dockerfile_runs_gunicorn_on_the_port_nginx_uses() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "\nFROM python:3.11-slim\n" in dockerfile
    (cmd,) = re.findall(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)
    assert yaml.safe_load(cmd) == [
        "gunicorn",
        "instaclone.wsgi:application",
        "-c",
        "deploy/gunicorn.conf.py",
        "--bind",
        f"0.0.0.0:{WEB_PORT}",
    ]
    for service in WEB_SERVICES:
        assert "command" not in SERVICES[service], f"{service} must run the image's gunicorn"
        assert str(WEB_PORT) in words(SERVICES[service]["healthcheck"]["test"])


def test_app_environment_names_only_variables_the_settings_read() -> None:
    unknown = set(app_env()) - set(settings_reads()) - READ_BY_DJANGO
    assert unknown == set()
    assert app_env()["DJANGO_SETTINGS_MODULE"] == "instaclone.settings.base"


def test_app_environment_sets_every_variable_without_a_container_default() -> None:
    reads = settings_reads()
    assert REQUIRED <= set(reads), f"base.py no longer reads {REQUIRED - set(reads)}"
    loopback = {name for name, default in reads.items() if "127.0.0.1" in str(default)}
    missing = (REQUIRED | loopback) - {name for name, value in app_env().items() if value}
    assert missing == set()


def test_every_address_is_a_service_on_its_container_port() -> None:
    env = app_env()
    expected_kind = {
        "DATABASE_URL": "postgres",
        "SHARD_DATABASE_URLS": "postgres",
        "REDIS_URL": "redis",
        "CELERY_BROKER_URL": "redis",
        "MEMCACHED_SERVERS": "memcached",
        "S3_ENDPOINT_URL": "s3",
    }
    for name, wanted in expected_kind.items():
        for value in env[name].split(","):
            host, port = address(value.strip())
            assert host in SERVICES, f"{name}: {host!r} is not a compose service"
            assert (kind(host), port) == (wanted, CONTAINER_PORTS[wanted]), f"{name}={value}"
    memcached = [address(v)[0] for v in env["MEMCACHED_SERVERS"].split(",")]
    assert sorted(memcached) == ["memcached-0", "memcached-1"]


def test_each_backing_service_listens_and_is_checked_on_its_container_port() -> None:
    port_flags = re.compile(r"(?:--port|-p|-s3\.port|port)[= ](\d+)")
    for service in BACKING_SERVICES:
        port = CONTAINER_PORTS[kind(service)]
        command_ports = {
            int(p) for p in port_flags.findall(words(SERVICES[service].get("command")))
        }
        assert command_ports <= {port}, f"{service} command listens on {command_ports}"
        healthcheck = words(SERVICES[service]["healthcheck"]["test"])
        assert re.search(rf"\b{port}\b", healthcheck), f"{service} healthcheck: {healthcheck}"


def test_databases_built_from_compose_env_point_at_postgres_services() -> None:
    env = app_env()
    urls = {"default": env["DATABASE_URL"]}
    urls.update({f"shards_{i}": url for i, url in enumerate(env["SHARD_DATABASE_URLS"].split(","))})
    databases = {
        alias: database_from_url(url, connect_timeout=3, statement_timeout_ms=5000)
        for alias, url in urls.items()
    }

    assert {alias: db["HOST"] for alias, db in databases.items()} == {
        "default": "postgres-users",
        "shards_0": "postgres-shards-0",
        "shards_1": "postgres-shards-1",
    }
    for alias, db in databases.items():
        server = environment(str(db["HOST"]))
        assert kind(str(db["HOST"])) == "postgres"
        assert (db["PORT"], db["NAME"], db["USER"], db["PASSWORD"]) == (
            str(CONTAINER_PORTS["postgres"]),
            server["POSTGRES_DB"],
            server["POSTGRES_USER"],
            server["POSTGRES_PASSWORD"],
        ), alias
    assert databases["default"]["NAME"] == "instaclone"
    assert {databases[a]["NAME"] for a in ("shards_0", "shards_1")} == {"instaclone_shards"}
    assert int(env["LOGICAL_SHARDS"]) > 0


def test_services_start_after_what_they_need_is_healthy() -> None:
    for service in APP_SERVICES:
        depends_on = SERVICES[service]["depends_on"]
        assert {name: dep["condition"] for name, dep in depends_on.items()} == {
            **{name: "service_healthy" for name in BACKING_SERVICES},
            "migrate": "service_completed_successfully",
        }, service
    # The schema step runs once the databases answer, before any app container starts.
    migrate = SERVICES["migrate"]
    assert "manage.py shards migrate" in " ".join(migrate["command"])
    assert {name: dep["condition"] for name, dep in migrate["depends_on"].items()} == {
        name: "service_healthy" for name in BACKING_SERVICES if name.startswith("postgres")
    }
    nginx_deps = SERVICES["nginx"]["depends_on"]
    assert {name: dep["condition"] for name, dep in nginx_deps.items()} == {
        "web1": "service_healthy",
        "web2": "service_healthy",
    }
    for service in ("nginx", *APP_SERVICES, *BACKING_SERVICES):
        assert SERVICES[service]["healthcheck"]["test"], service


def test_nginx_proxies_to_both_web_services_and_retries_the_other() -> None:
    nginx = SERVICES["nginx"]
    assert "8080:80" in nginx["ports"]
    (mount,) = [v for v in nginx["volumes"] if v.endswith(":/etc/nginx/nginx.conf:ro")]
    conf = (ROOT / mount.split(":")[0]).read_text()

    assert re.search(r"^\s*listen 80;", conf, re.MULTILINE)
    (upstream, body) = re.findall(r"upstream (\w+) \{([^}]*)\}", conf)[0]
    servers = re.findall(r"^\s*server ([\w.-]+:\d+)", body, re.MULTILINE)
    assert servers == [f"{service}:{WEB_PORT}" for service in WEB_SERVICES]
    assert f"proxy_pass http://{upstream};" in conf
    assert re.search(r"proxy_next_upstream error timeout", conf)
    static_mount = next(v for v in nginx["volumes"] if v.startswith("static:"))
    static_dir = static_mount.split(":")[1]
    assert f"alias {static_dir}/;" in conf
    # The app image's collectstatic output (STATIC_ROOT) seeds the volume nginx reads.
    (static_root,) = re.findall(r"STATIC_ROOT=(\S+)", (ROOT / "deploy" / "Dockerfile").read_text())
    for service in WEB_SERVICES:
        assert f"static:{static_root}" in SERVICES[service]["volumes"]
