"""Bring a profile up in order: directories, data tier, manage.py, app tier, health checks."""

from __future__ import annotations

import http.client
import shlex
import subprocess
import time

from .datastores import S3
from .errors import StackError
from .inventory import services
from .postgres import Postgres
from .processes import http_get, log, tail, warn
from .profiles import DATA_SERVICES, REPO, RUN, VENV_BIN, app_env, ports, profile_dir, secret_key
from .service import Service


def prepare_dirs(profile: str) -> None:
    RUN.mkdir(exist_ok=True)
    base = profile_dir(profile)
    for d in (base, base / "logs", base / "static", base / "media"):
        d.mkdir(parents=True, exist_ok=True)
    for d in (RUN, base):
        d.chmod(0o755)  # the postgres user must traverse these
    secret_key(profile)


def ensure_running(svc: Service) -> bool:
    """Start ``svc`` unless it already runs; wait until it answers. True when it was started."""
    state = svc.state()
    if state == "up":
        log(f"{svc.name}: already running (pid {svc.pid()}, {svc.address})")
        return False
    if state == "unresponsive":
        log(f"{svc.name}: running (pid {svc.pid()}) but not answering yet; waiting")
        svc.wait_ready(60)
        return False
    svc.ensure_ports_free()
    log(f"{svc.name}: starting on {svc.address}")
    svc.start()
    svc.wait_ready(90 if isinstance(svc, S3) else 60)
    return True


def start_data(profile: str) -> None:
    svcs = services(profile)
    for name in DATA_SERVICES:
        svc = svcs[name]
        ensure_running(svc)
        if isinstance(svc, Postgres):
            dbs = (
                ["instaclone", "instaclone_shards"]
                if name == "postgres-0"
                else ["instaclone_shards"]
            )
            svc.ensure_databases(dbs)
        if isinstance(svc, S3):
            svc.verify()


def manage(profile: str, *args: str, optional_command: bool = False) -> bool:
    """Run manage.py with the profile's env. False when skipped (no such command yet)."""
    manage_py = REPO / "manage.py"
    if not manage_py.exists():
        warn(f"manage.py does not exist yet: skipping `manage.py {' '.join(args)}`")
        return False
    logfile = profile_dir(profile) / "logs" / "manage.log"
    cmd = [str(VENV_BIN / "python"), str(manage_py), *args]
    log(f"manage.py {' '.join(args)}")
    with open(logfile, "ab") as fh:
        fh.write(f"\n$ {shlex.join(cmd)}\n".encode())
    proc = subprocess.run(
        cmd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=app_env(profile),
        cwd=REPO,
    )
    with open(logfile, "a") as fh:
        fh.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        out = proc.stdout + proc.stderr
        if optional_command and "Unknown command" in out:
            warn(f"`manage.py {args[0]}` does not exist yet: skipped (the call stays in up)")
            return False
        raise StackError(
            f"`manage.py {' '.join(args)}` failed (exit {proc.returncode}); output in {logfile}:"
            f"\n{tail(logfile, 40)}"
        )
    return True


def start_app(profile: str, health_path: str) -> None:
    svcs = services(profile)
    for name in ("gunicorn-0", "gunicorn-1"):
        svc = svcs[name]
        if svc.state() == "up":
            log(f"{name}: reloading (HUP, pid {svc.pid()}) so new code is served")
            svc.reload()  # type: ignore[attr-defined]
        else:
            ensure_running(svc)
    nginx = svcs["nginx"]
    if nginx.state() == "up":
        log("nginx: reloading its configuration")
        nginx.reload()  # type: ignore[attr-defined]
    else:
        ensure_running(nginx)
    for name in ("gunicorn-0", "gunicorn-1"):
        warm_up(svcs[name], health_path)
    celery = svcs["celery"]
    if celery.pid() is not None:
        log("celery: restarting so new code is served")
        celery.stop()
    ensure_running(celery)
    wait_healthy(profile, health_path)


def warm_up(svc: Service, path: str, timeout: float = 60) -> None:
    """Wait until ``svc`` (a Gunicorn) itself answers 200 a few times in a row.

    This also gets each worker past its first, slow request before tests or users arrive.
    """
    wanted, streak, last = 4, 0, "no answer"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and streak < wanted:
        try:
            status, body = http_get(svc.port, path, timeout=10)
            streak = streak + 1 if status == 200 else 0
            last = f"HTTP {status}: {body[:300].decode(errors='replace')}"
        except (OSError, http.client.HTTPException) as exc:
            streak, last = 0, str(exc)
        if streak < wanted:
            time.sleep(0.2 if streak else 0.5)
    if streak < wanted:
        raise StackError(
            f"{svc.name} (http://{svc.address}{path}) did not answer 200 within {timeout:.0f}s "
            f"(last: {last}); its log is {svc.logfile}:\n{tail(svc.logfile, 15)}"
        )


def wait_healthy(profile: str, path: str, timeout: float = 60) -> None:
    port = ports(profile)["nginx"]
    last = "no answer"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, body = http_get(port, path, timeout=5)
            if status == 200:
                log(f"http://127.0.0.1:{port}{path} answered 200")
                return
            last = f"HTTP {status}: {body[:300].decode(errors='replace')}"
        except (OSError, http.client.HTTPException) as exc:
            last = str(exc)
        time.sleep(0.5)
    logs = profile_dir(profile) / "logs"
    raise StackError(
        f"http://127.0.0.1:{port}{path} did not answer 200 within {timeout:.0f}s (last: {last})."
        f"\n  gunicorn-0 log {logs / 'gunicorn-0.error.log'}:\n"
        f"{tail(logs / 'gunicorn-0.error.log', 15)}\n  nginx log {logs / 'nginx.error.log'}:\n"
        f"{tail(logs / 'nginx.error.log', 5)}"
    )
