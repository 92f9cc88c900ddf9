"""Processes and ports: pid files, waiting, stopping, running tools, finding binaries."""

from __future__ import annotations

import contextlib
import http.client
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import StackError
from .profiles import VENV_BIN


def log(msg: str) -> None:
    print(f"stack: {msg}", flush=True)


def warn(msg: str) -> None:
    print(f"stack: warning: {msg}", file=sys.stderr, flush=True)


def port_answers(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            # A connect to a free port can be given that very port as its source and meet
            # itself (TCP simultaneous open); nothing listens there.
            return sock.getsockname() != sock.getpeername()
    except OSError:
        return False


def port_bindable(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could bind ``port`` now (SO_REUSEADDR, as the servers set it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_taken(port: int) -> bool:
    """Something else answers on ``port``, or holds it so that a server cannot bind it."""
    return port_answers(port) or not port_bindable(port)


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
