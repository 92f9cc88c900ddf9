"""Who the client is: the one rule every limiter uses to name the address a request came from.

``REMOTE_ADDR`` is the peer that opened the connection. Only when that peer is one of our own
proxies (``settings.ABUSE_TRUSTED_PROXIES``: addresses or CIDR networks, such as nginx on the
same host or the compose network) is ``X-Forwarded-For`` read, and then from the right: each
trusted proxy appends the address it saw, so the hops are walked right to left, past our own
proxies, and the first address that is not one of them is the client. Everything left of it
was written by the client and could be forged to dodge a limit.

Written by hand rather than with python-ipware / django-ipware: those read a dozen headers a
client can set (X-Real-IP, Client-IP, ...) unless told otherwise and match proxies by string
prefix; the rule here is a short walk with the standard library's ``ipaddress`` over networks.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.core.checks import CheckMessage, Error
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# What a request with no peer address at all (a request built in code) is counted as.
UNKNOWN = "unknown"
# Longest text kept from an address that does not parse, so keys stay bounded.
MAX_UNPARSED_LENGTH = 64


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    # strict=False: "172.28.0.10/16" names the network the address sits in, as people write it.
    return tuple(
        ipaddress.ip_network(entry.strip(), strict=False) for entry in trusted if entry.strip()
    )


def trusted_networks() -> tuple[IPNetwork, ...]:
    """Return the proxies whose X-Forwarded-For is believed, from settings."""
    return _networks(tuple(settings.ABUSE_TRUSTED_PROXIES))


def check_trusted_proxies(**kwargs: object) -> list[CheckMessage]:
    """Report entries of ABUSE_TRUSTED_PROXIES that are neither an address nor a network."""
    wrong = []
    for entry in settings.ABUSE_TRUSTED_PROXIES:
        if not entry.strip():
            continue
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            wrong.append(entry)
    return [
        Error(
            f"ABUSE_TRUSTED_PROXIES entry {entry!r} is not an IP address or CIDR network.",
            hint="Name each proxy as an address (127.0.0.1) or a network (172.28.0.0/24).",
            id="instaclone.E001",
        )
        for entry in wrong
    ]


def _parse(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; they are one client.
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(address in network for network in networks)


def client_ip(request: HttpRequest) -> str:
    """Return the address of the client behind ``request``, believing only our own proxies."""
    remote_text = str(request.META.get("REMOTE_ADDR") or "")
    remote = _parse(remote_text)
    if remote is None:
        return remote_text[:MAX_UNPARSED_LENGTH] or UNKNOWN
    networks = trusted_networks()
    last = remote
    if _trusted(remote, networks):
        forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
        for hop in reversed([hop for hop in forwarded.split(",") if hop.strip()]):
            address = _parse(hop)
            if address is None:
                # A trusted proxy wrote garbage: stop at the last address we can vouch for.
                break
            last = address
            if not _trusted(address, networks):
                break
    return str(last)


def address_group(ip: str) -> str:
    """Return the unit a limit counts for ``ip``: the address, or its /64 for IPv6."""
    address = _parse(ip)
    if address is None:
        return ip[:MAX_UNPARSED_LENGTH]
    if address.version == 6:
        # One IPv6 client usually owns a whole /64; counting single addresses would let it
        # rotate through 2**64 of them.
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
