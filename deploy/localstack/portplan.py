"""Where a profile's stack listens: its default ports, or all of them moved by one offset when
some other process holds one of them.

The move is decided by ``up`` (and ``start``) while none of the profile's services runs, kept in
``.run/<profile>/port-offset``, and read by everything that needs an address (``stack.py env``,
the app's environment, the generated configs), so tests and benchmarks follow it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .errors import StackError
from .inventory import services
from .processes import log, port_owner, port_taken, warn
from .profiles import PROFILES, all_ports, port_offset, set_port_offset

OFFSET_STEP = 100
OFFSET_TRIES = 40
# Linux's ephemeral range starts at 32768: stay below it (see profiles.DEFAULT_PORTS).
HIGHEST_PORT = 32767


def choose_offset(
    defaults: Iterable[int],
    current: int,
    avoid: set[int],
    taken: Callable[[int], bool] = port_taken,
) -> int | None:
    """The first offset, trying ``current``, then 0, then steps of OFFSET_STEP, that moves every
    default port to one that is free, at most HIGHEST_PORT and not in ``avoid``; None if none."""
    defaults = list(defaults)
    steps = [current, 0, *range(OFFSET_STEP, OFFSET_STEP * (OFFSET_TRIES + 1), OFFSET_STEP)]
    for offset in dict.fromkeys(steps):
        moved = [port + offset for port in defaults]
        if max(moved) > HIGHEST_PORT or avoid.intersection(moved):
            continue
        if not any(taken(port) for port in moved):
            return offset
    return None


def settle_ports(profile: str) -> None:
    """Keep the profile's ports if they are free (or its own stack runs on them), else move."""
    if any(svc.pid() is not None for svc in services(profile).values()):
        return
    current = port_offset(profile)
    others = {port for other in PROFILES if other != profile for port in all_ports(other)}
    defaults = all_ports(profile, 0)
    offset = choose_offset(defaults, current, others)
    if offset is None:
        busy = [port for port in defaults if port_taken(port)]
        held = f"127.0.0.1:{busy[0]} is held by {port_owner(busy[0])}, and " if busy else ""
        raise StackError(
            f"no free set of ports for the {profile} stack: {held}every set moved by up to "
            f"{OFFSET_STEP * OFFSET_TRIES} has a port that is taken, used by another profile "
            f"or above {HIGHEST_PORT}"
        )
    if offset == current:
        return
    held = [port for port in all_ports(profile) if port_taken(port)]
    if held:
        warn(
            f"127.0.0.1:{held[0]} of the {profile} stack is held by {port_owner(held[0])}; "
            f"moving all its ports by {offset - current:+d}"
        )
    set_port_offset(profile, offset)
    if offset:
        log(f"{profile} ports are the defaults {offset:+d} (.run/{profile}/port-offset)")
