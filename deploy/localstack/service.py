"""The Service base class, and telling whose process holds a port it needs."""

from __future__ import annotations

import contextlib
import re
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import StackError
from .processes import (
    pid_alive,
    port_answers,
    port_owner,
    port_taken,
    read_pid,
    tail,
    terminate,
    wait_until,
)
from .profiles import REPO, profile_dir


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
        """The last check before a start; portplan.settle_ports has moved the profile already."""
        for port in [self.port, *self.extra_ports]:
            if not port_taken(port):
                continue
            owner = port_owner(port)
            hint = ""
            other = _other_checkout(owner)
            if other is not None and other != REPO:
                hint = (
                    f"\n  it looks like a stack of another checkout; stop it with: "
                    f"cd {other} && .venv/bin/python deploy/stack.py down --profile {self.profile}"
                )
            raise StackError(
                f"{self.name} needs 127.0.0.1:{port}, which is already in use by {owner}{hint}"
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
