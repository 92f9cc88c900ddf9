"""The app tier: two Gunicorns, nginx in front of them (its conf rendered here) and Celery."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from .errors import StackError
from .processes import http_get, is_root, need, port_answers, run, tail, terminate, venv_tool
from .profiles import DEPLOY, REPO, app_env, ports, profile_dir
from .service import Service

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
        "GUNICORN_PORT_0": str(ports(profile)["gunicorn-0"]),
        "GUNICORN_PORT_1": str(ports(profile)["gunicorn-1"]),
        "LISTEN_PORT": str(ports(profile)["nginx"]),
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
    """The worker, with beat embedded (-B).

    It has no port of its own: "up" means its process lives and Redis answers.
    """

    def answers(self) -> bool:
        return port_answers(ports(self.profile)["redis"])

    def ensure_ports_free(self) -> None:
        return None  # listens on nothing

    @property
    def address(self) -> str:
        return f"redis://127.0.0.1:{ports(self.profile)['redis']}/1"

    @property
    def schedule(self) -> Path:
        """Beat's record of when each periodic job last ran (a shelve file, kept across runs)."""
        return self.dir / "beat-schedule"

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
            "-B",  # embedded beat: the stack runs one worker, so it can host the only scheduler
            "--schedule",
            str(self.schedule),
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
        # A worker that cannot import the app dies a moment after it wrote its pid file. The
        # detached worker also rewrites that file once it has imported the app (celery drops a
        # pid file naming its own pid, then writes it again), so a single look can fall between
        # the two on a loaded machine: look again for a while before calling it dead.
        time.sleep(2)
        deadline = time.monotonic() + self.pid_grace
        while self.pid() is None and time.monotonic() < deadline:
            time.sleep(0.2)
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
