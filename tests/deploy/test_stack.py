"""The local stack tooling (deploy/stack.py) and, under ``make test``, the running test stack.

The checks on the running stack need the test profile's services, which ``make test`` starts
before pytest and announces with INSTACLONE_PROFILE=test in the environment; run elsewhere they
are skipped. No test here uses the Django test database.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy.localstack import app, inventory, processes, profiles
from deploy.localstack.profiles import profile_env

REPO = Path(__file__).resolve().parents[2]
STACK_RUNNING = os.environ.get("INSTACLONE_PROFILE") == "test"
needs_test_stack = pytest.mark.skipif(
    not STACK_RUNNING, reason="needs the test stack that `make test` brings up"
)


def _ports_in(env: dict[str, str]) -> set[int]:
    return {int(port) for value in env.values() for port in re.findall(r":(\d{2,5})\b", value)}


def _get(port: int, path: str, timeout: float = 10.0) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": "127.0.0.1"})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def _stack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "deploy" / "stack.py"), *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


# --- profiles --------------------------------------------------------------------------------


def test_dev_and_test_profiles_share_no_port() -> None:
    assert not set(profiles.all_ports("dev")) & set(profiles.all_ports("test"))
    dev, test = _ports_in(profile_env("dev")), _ports_in(profile_env("test"))
    assert dev and test
    assert not dev & test


def test_profiles_share_no_run_directory() -> None:
    dev, test = profile_env("dev"), profile_env("test")
    for name in ("STATIC_ROOT", "MEDIA_ROOT"):
        assert dev[name] != test[name]
        assert Path(test[name]).is_relative_to(REPO / ".run" / "test")
    assert dev["SECRET_KEY"] != test["SECRET_KEY"]


def test_profile_env_sets_what_the_settings_read() -> None:
    env = profile_env("test")
    port = profiles.ports("test")
    assert env["DJANGO_SETTINGS_MODULE"] == "instaclone.settings.test"
    assert profile_env("dev")["DJANGO_SETTINGS_MODULE"] == "instaclone.settings.base"
    pg0, pg1 = port["postgres-0"], port["postgres-1"]
    assert env["DATABASE_URL"] == f"postgres://instaclone@127.0.0.1:{pg0}/instaclone"
    assert env["SHARD_DATABASE_URLS"].split(",") == [
        f"postgres://instaclone@127.0.0.1:{pg0}/instaclone_shards",
        f"postgres://instaclone@127.0.0.1:{pg1}/instaclone_shards",
    ]
    assert env["REDIS_URL"] == f"redis://127.0.0.1:{port['redis']}/0"
    assert env["CELERY_BROKER_URL"] == f"redis://127.0.0.1:{port['redis']}/1"
    assert env["MEMCACHED_SERVERS"] == (
        f"127.0.0.1:{port['memcached-0']},127.0.0.1:{port['memcached-1']}"
    )
    assert env["S3_ENDPOINT_URL"] == f"http://127.0.0.1:{port['s3']}"
    assert env["APP_URL"] == f"http://127.0.0.1:{port['nginx']}"
    assert (env["S3_BUCKET"], env["S3_ACCESS_KEY"]) == ("instaclone", "instaclone")
    assert env["LOGICAL_SHARDS"] == "64"
    assert len(env["SECRET_KEY"]) >= 50
    assert profile_env("test")["SECRET_KEY"] == env["SECRET_KEY"]  # kept, not made anew


def test_env_command_prints_shell_exports() -> None:
    out = _stack("env", "--profile", "test")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert all(line.startswith("export ") for line in lines)
    assert f"export REDIS_URL=redis://127.0.0.1:{profiles.ports('test')['redis']}/0" in lines


# --- nginx config ----------------------------------------------------------------------------


def test_rendered_nginx_config_passes_nginx_t(tmp_path: Path) -> None:
    if not processes.which("nginx"):
        pytest.skip("nginx is not installed (bash deploy/bootstrap.sh)")
    prefix, logs, static = tmp_path / "nginx", tmp_path / "logs", tmp_path / "static"
    conf = app.write_nginx_conf("test", prefix, logs, static)
    text = conf.read_text()
    port = profiles.ports("test")
    assert f"server 127.0.0.1:{port['gunicorn-0']}" in text
    assert f"server 127.0.0.1:{port['gunicorn-1']}" in text
    assert f"listen 127.0.0.1:{port['nginx']};" in text
    assert "proxy_next_upstream error timeout;" in text
    assert "client_max_body_size 30m;" in text
    assert f"alias {static}/;" in text
    assert "{{" not in text
    result = subprocess.run(
        [*app.nginx_cmd(prefix, conf, logs / "nginx.error.log"), "-t"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_config_of_each_profile_points_at_its_own_gunicorns(tmp_path: Path) -> None:
    for profile in profiles.PROFILES:
        text = app.render_nginx_conf(profile, tmp_path, tmp_path, tmp_path)
        upstreams = {int(p) for p in re.findall(r"server 127\.0\.0\.1:(\d+)", text)}
        ports = profiles.ports(profile)
        assert upstreams == {ports["gunicorn-0"], ports["gunicorn-1"]}


def test_gunicorn_config_resolves() -> None:
    gunicorn = REPO / ".venv" / "bin" / "gunicorn"
    if not gunicorn.exists():
        pytest.skip("no .venv (bash deploy/bootstrap.sh)")
    result = subprocess.run(
        [
            str(gunicorn),
            "--print-config",
            "-c",
            str(REPO / "deploy" / "gunicorn.conf.py"),
            "instaclone.wsgi:application",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "GUNICORN_BIND": "127.0.0.1:38999"},
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    config = dict(
        (name.strip(), value.strip())
        for name, _, value in (line.partition("=") for line in result.stdout.splitlines())
    )
    assert config["bind"] == "['127.0.0.1:38999']"
    assert config["workers"] == "2"
    assert config["worker_class"] == "sync"
    assert config["timeout"] == "30"
    assert config["graceful_timeout"] == "10"
    assert int(config["max_requests"]) > 0 and int(config["max_requests_jitter"]) > 0
    assert config["forwarded_allow_ips"] == "['127.0.0.1']"


# --- the running test stack ------------------------------------------------------------------


@needs_test_stack
def test_every_service_of_the_test_stack_is_up() -> None:
    states = inventory.service_states("test")
    assert set(states) == set(profiles.ALL_SERVICES)
    assert {name: state for name, state in states.items() if state != "up"} == {}
    result = _stack("status", "--profile", "test")
    assert result.returncode == 0, result.stdout + result.stderr


@needs_test_stack
def test_static_files_are_served_by_nginx() -> None:
    static = Path(profile_env("test")["STATIC_ROOT"])
    files = sorted(p for p in static.rglob("*") if p.is_file())
    if not files:
        pytest.skip("collectstatic produced no files")
    path = "/static/" + files[0].relative_to(static).as_posix()
    assert _get(profiles.ports("test")["nginx"], path) == 200


@needs_test_stack
def test_celery_worker_runs_beat_with_its_schedule_under_the_profile() -> None:
    celery = inventory.services("test")["celery"]
    pid = celery.pid()
    assert pid is not None, "celery is not running"
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    assert "-B" in argv
    assert argv[argv.index("--schedule") + 1] == str(
        REPO / ".run" / "test" / "celery" / "beat-schedule"
    )


def _healthz(port: int) -> tuple[int, dict[str, object] | None]:
    """GET /healthz; the status and the JSON body when Django (not nginx) answered."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    try:
        data = json.loads(body)
    except ValueError:
        return resp.status, None
    return resp.status, data if isinstance(data, dict) else None


@needs_test_stack
@pytest.mark.e2e
def test_nginx_routes_around_a_stopped_gunicorn() -> None:
    """One Gunicorn down: every request through nginx still reaches the app; then it comes back."""
    services = inventory.services("test")
    stopped, other = services["gunicorn-0"], services["gunicorn-1"]
    nginx_port = profiles.ports("test")["nginx"]
    pid = stopped.pid()
    assert pid is not None, "gunicorn-0 is not running"
    for _ in range(6):  # get the survivor's workers past their first, slow request
        _healthz(other.port)
    try:
        os.kill(pid, signal.SIGTERM)  # graceful: workers finish, the master exits
        deadline = time.monotonic() + 25
        while processes.pid_alive(pid, "gunicorn") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not processes.pid_alive(pid, "gunicorn"), "gunicorn-0 did not stop within 25 s"
        assert not processes.port_answers(stopped.port)

        answers = [_healthz(nginx_port) for _ in range(20)]
        gateway_errors = [status for status, _ in answers if status in (502, 504)]
        assert gateway_errors == [], f"nginx failed to reach a Gunicorn: {answers}"
        assert all(body is not None and "status" in body for _, body in answers), answers
        assert [status for status, _ in answers] == [200] * 20, answers
    finally:
        result = _stack("start", "gunicorn-0", "--profile", "test")
    assert result.returncode == 0, result.stdout + result.stderr
    new_pid = stopped.pid()
    assert new_pid is not None and new_pid != pid
    assert inventory.service_states("test")["gunicorn-0"] == "up"
    assert _healthz(stopped.port)[0] == 200


def test_template_keeps_nginx_variables_and_sets_user_only_as_root() -> None:
    # The template is filled by plain replacement: nginx's own $variables must survive.
    as_root = app.render_nginx_conf("dev", Path("/x"), Path("/x"), Path("/x"), as_root=True)
    for var in ("$http_host", "$proxy_add_x_forwarded_for", "$scheme"):
        assert var in as_root
    assert re.search(r"^user root;$", as_root, re.M)
    as_user = app.render_nginx_conf("dev", Path("/x"), Path("/x"), Path("/x"), as_root=False)
    assert not re.search(r"^\s*user\s", as_user, re.M)
