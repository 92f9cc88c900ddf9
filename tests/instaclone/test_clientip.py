"""The one client-IP rule: X-Forwarded-For believed from our proxies only, read from the right."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.test import RequestFactory
from pytest_django.fixtures import Settings

from instaclone.clientip import address_group, client_ip

COMPOSE = ["127.0.0.1", "::1", "172.28.0.0/24"]


def _ip(remote: str | None, forwarded: str | None = None) -> str:
    request = RequestFactory().get("/")
    request.META.pop("REMOTE_ADDR", None)
    if remote is not None:
        request.META["REMOTE_ADDR"] = remote
    if forwarded is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(request)


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        # A direct client: its own address, whatever it wrote.
        ("203.0.113.9", None, "203.0.113.9"),
        ("203.0.113.9", "198.51.100.7", "203.0.113.9"),
        ("203.0.113.9", "172.28.0.10", "203.0.113.9"),
        # Behind nginx on this host: the hop nginx appended; what the client wrote is ignored.
        ("127.0.0.1", "198.51.100.7", "198.51.100.7"),
        ("127.0.0.1", "6.6.6.6, 198.51.100.7", "198.51.100.7"),
        ("127.0.0.1", "6.6.6.6,198.51.100.7 , ", "198.51.100.7"),
        # Behind the compose nginx, any address of its network, then through a second proxy.
        ("172.28.0.10", "6.6.6.6, 198.51.100.7", "198.51.100.7"),
        ("172.28.0.77", "198.51.100.7", "198.51.100.7"),
        ("127.0.0.1", "6.6.6.6, 198.51.100.7, 172.28.0.10", "198.51.100.7"),
        # Next door to the compose network is not in it.
        ("172.28.1.10", "198.51.100.7", "172.28.1.10"),
        # A proxy with no X-Forwarded-For, or only trusted hops: the left-most trusted one.
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", "", "127.0.0.1"),
        ("127.0.0.1", "172.28.0.10", "172.28.0.10"),
        # IPv6 peers and hops, written any way, come back in one canonical spelling.
        ("::1", "2001:DB8:0:0::1", "2001:db8::1"),
        ("2001:db8::9", "198.51.100.7", "2001:db8::9"),
        ("::ffff:127.0.0.1", "198.51.100.7", "198.51.100.7"),
        ("::ffff:203.0.113.9", None, "203.0.113.9"),
        # A hop that is no address stops the walk at the last address a proxy vouched for.
        ("127.0.0.1", "198.51.100.7, not-an-ip", "127.0.0.1"),
        ("172.28.0.10", "198.51.100.7, not-an-ip, 127.0.0.1", "127.0.0.1"),
        # No peer address at all (a request built in code).
        (None, "198.51.100.7", "unknown"),
        ("", None, "unknown"),
    ],
)
def test_client_ip_walks_forwarded_hops_from_the_right_past_trusted_proxies(
    settings: Settings, remote: str | None, forwarded: str | None, expected: str
) -> None:
    settings.ABUSE_TRUSTED_PROXIES = COMPOSE
    assert _ip(remote, forwarded) == expected


def test_client_ip_follows_the_setting(settings: Settings) -> None:
    settings.ABUSE_TRUSTED_PROXIES = ["10.9.0.0/16"]
    assert _ip("10.9.3.4", "6.6.6.6, 198.51.100.7") == "198.51.100.7"
    # Loopback is trusted only while the setting says so.
    assert _ip("127.0.0.1", "198.51.100.7") == "127.0.0.1"
    settings.ABUSE_TRUSTED_PROXIES = []
    assert _ip("10.9.3.4", "198.51.100.7") == "10.9.3.4"


def test_the_default_trusts_this_hosts_nginx_only() -> None:
    assert _ip("127.0.0.1", "6.6.6.6, 198.51.100.7") == "198.51.100.7"
    assert _ip("::1", "198.51.100.7") == "198.51.100.7"
    assert _ip("172.28.0.10", "198.51.100.7") == "172.28.0.10"


@pytest.mark.parametrize(
    ("ip", "group"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("unknown", "unknown"),
        ("x" * 100, "x" * 64),
    ],
)
def test_address_group_counts_ipv6_per_64(ip: str, group: str) -> None:
    assert address_group(ip) == group


def test_a_proxy_entry_that_does_not_parse_fails_the_system_check(settings: Settings) -> None:
    settings.ABUSE_TRUSTED_PROXIES = ["127.0.0.1", "172.28.0.0/24", "nginx.internal"]
    messages = [m for m in run_checks(tags=["security"]) if m.id == "instaclone.E001"]
    assert [m.msg for m in messages] == [
        "ABUSE_TRUSTED_PROXIES entry 'nginx.internal' is not an IP address or CIDR network."
    ]
    settings.ABUSE_TRUSTED_PROXIES = ["127.0.0.1", "::1", "172.28.0.0/24"]
    assert [m for m in run_checks(tags=["security"]) if m.id == "instaclone.E001"] == []
