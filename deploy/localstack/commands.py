"""The stack.py commands (up, down, status, env, start, stop, restart) and their table."""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
from pathlib import Path

from .app import Gunicorn
from .errors import StackError
from .inventory import services
from .portplan import settle_ports
from .processes import log
from .profiles import ALL_SERVICES, HEALTH_PATH, PROFILES, REPO, ports, profile_dir, profile_env
from .service import Service
from .startup import ensure_running, manage, prepare_dirs, start_app, start_data, warm_up

DESCRIPTION = "Start and stop instaclone's own services on loopback ports (stdlib only)."


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
    settle_ports(profile)
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
    print(f"\n{profile} stack: http://127.0.0.1:{ports(profile)['nginx']}/")
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
    settle_ports(profile)
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
    parser = argparse.ArgumentParser(prog="stack.py", description=DESCRIPTION)
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
