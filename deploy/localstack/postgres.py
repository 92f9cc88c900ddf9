"""The two Postgres servers: initdb, config, pg_ctl, roles and databases."""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import stat
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from .errors import StackError
from .processes import is_root, log, need, pid_alive, port_answers, read_pid, run, which
from .profiles import DB_ROLE
from .service import Service


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
