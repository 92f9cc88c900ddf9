"""Moving a profile's ports off ones another process holds (deploy/localstack/portplan.py).

Real sockets on 127.0.0.1 play the other process; no service is started.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import pytest

from deploy.localstack import portplan, processes, profiles


@contextmanager
def held(port: int) -> Iterator[socket.socket]:
    """A listener on 127.0.0.1:``port``, the way a stranger's server holds it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen(8)
        yield sock
    finally:
        sock.close()


def _free_base(span: int = 4, steps: int = 3) -> int:
    """A port p below the ephemeral range with p..p+span-1 free at each of ``steps`` offsets."""
    used = set(profiles.all_ports("dev")) | set(profiles.all_ports("test"))
    for base in range(19_000, 20_000, 10):
        wanted = [base + i + k * portplan.OFFSET_STEP for i in range(span) for k in range(steps)]
        if not used.intersection(wanted) and not any(processes.port_taken(p) for p in wanted):
            return base
    pytest.skip("no free ports around 19000 on this machine")


def test_every_default_port_lies_below_the_ephemeral_range() -> None:
    # Linux's default range starts at 32768 (net.ipv4.ip_local_port_range); a machine may be
    # set otherwise, so the default is what the ports are chosen against.
    for profile in profiles.PROFILES:
        assert max(profiles.all_ports(profile, 0)) <= portplan.HIGHEST_PORT < 32768


def test_a_held_port_is_taken_and_a_free_one_is_not() -> None:
    base = _free_base()
    assert not processes.port_taken(base)
    assert not processes.port_answers(base)
    with held(base):
        assert processes.port_answers(base)
        assert not processes.port_bindable(base)
        assert processes.port_taken(base)
    assert not processes.port_taken(base)


def test_free_defaults_keep_the_current_offset() -> None:
    base = _free_base()
    assert portplan.choose_offset([base, base + 1], 0, set()) == 0
    assert portplan.choose_offset([base, base + 1], 100, set()) == 100


def test_one_held_port_moves_the_whole_set() -> None:
    base = _free_base()
    with held(base + 1):
        assert portplan.choose_offset([base, base + 1, base + 2], 0, set()) == 100
        # the next step when the first moved set meets a port the other profile uses
        assert portplan.choose_offset([base, base + 1], 0, {base + 100}) == 200


def test_no_offset_crosses_into_the_ephemeral_range() -> None:
    top = portplan.HIGHEST_PORT - 50
    with held(top) if not processes.port_taken(top) else nullcontext():
        offset = portplan.choose_offset([top], 0, set())
    assert offset is None


def test_settle_moves_a_stopped_profile_and_everything_follows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dev's stack here has no pid files (a fresh .run): one held port moves all its ports."""
    monkeypatch.setattr(profiles, "RUN", tmp_path / ".run")
    defaults = profiles.DEFAULT_PORTS["dev"]
    nginx = defaults["nginx"]
    with held(nginx) if not processes.port_taken(nginx) else nullcontext():
        portplan.settle_ports("dev")
        offset = profiles.port_offset("dev")
        assert offset > 0 and offset % portplan.OFFSET_STEP == 0
        assert (tmp_path / ".run" / "dev" / "port-offset").read_text().strip() == str(offset)
        moved = profiles.ports("dev")
        assert moved == {name: port + offset for name, port in defaults.items()}
        assert not any(processes.port_taken(p) for p in profiles.all_ports("dev"))
        assert not set(profiles.all_ports("dev")) & set(profiles.all_ports("test"))
        env = profiles.profile_env("dev")
        assert env["APP_URL"] == f"http://127.0.0.1:{nginx + offset}"
        assert f":{defaults['redis'] + offset}/" in env["REDIS_URL"]
        weed = profiles.DEFAULT_WEED_PORTS["dev"]
        assert profiles.weed_ports("dev") == {flag: port + offset for flag, port in weed.items()}
        portplan.settle_ports("dev")  # settled: a second call keeps it
        assert profiles.port_offset("dev") == offset


def test_no_offset_when_every_moved_set_has_a_taken_port() -> None:
    base = _free_base()
    every_set_blocked = {base + k * portplan.OFFSET_STEP for k in range(portplan.OFFSET_TRIES + 1)}
    assert (
        portplan.choose_offset([base, base + 1], 0, set(), taken=every_set_blocked.__contains__)
        is None
    )
    others = every_set_blocked - {base + 700}
    assert portplan.choose_offset([base], 0, others, taken=lambda port: False) == 700
