"""Read many cached things at once: one Memcached ``get_many`` for every kind asked.

A ``Kind`` names a key prefix, a loader that reads the misses from the databases in bulk (one
query per physical server, or better), and a lifetime. ``cached_fetch`` gathers the keys of
every kind into a single ``get_many``, asks each kind's loader for its misses, and writes what
they found back with one ``set_many`` per lifetime. IDs a loader does not find are remembered
as absent, so a deleted photo costs no query on the next read either.

Writers forget keys after their transaction commits (``cached_forget``); with Memcached down or
frozen every read is a miss and is served from the databases.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction

ABSENT = "\x00absent"


@dataclass(frozen=True, eq=False)
class Kind:
    """One kind of cached value: ``prefix:<ident>`` keys, a bulk loader and a lifetime."""

    prefix: str
    load: Callable[[list[Any]], Mapping[Any, Any]]
    seconds: int

    def key(self, ident: Hashable) -> str:
        """Return the cache key of one value."""
        if isinstance(ident, tuple):
            return ":".join((self.prefix, *(str(part) for part in ident)))
        return f"{self.prefix}:{ident}"


def cached_fetch(wanted: Mapping[Kind, Iterable[Any]]) -> dict[Kind, dict[Any, Any]]:
    """Return the values of every kind asked for, by ident; absent ones are left out.

    One ``get_many`` for all of them; then each kind's loader once for its misses.
    """
    keys: dict[str, tuple[Kind, Any]] = {}
    for kind, idents in wanted.items():
        for ident in idents:
            keys[kind.key(ident)] = (kind, ident)
    found = cache.get_many(list(keys)) if keys else {}
    result: dict[Kind, dict[Any, Any]] = {kind: {} for kind in wanted}
    misses: dict[Kind, list[Any]] = defaultdict(list)
    for key, (kind, ident) in keys.items():
        if key not in found:
            misses[kind].append(ident)
        elif found[key] != ABSENT:
            result[kind][ident] = found[key]
    writes: dict[int, dict[str, Any]] = defaultdict(dict)
    for kind, idents in misses.items():
        loaded = kind.load(idents)
        for ident in idents:
            value = loaded.get(ident, ABSENT)
            writes[kind.seconds][kind.key(ident)] = value
            if value != ABSENT:
                result[kind][ident] = value
    for seconds, values in writes.items():
        cache.set_many(values, timeout=seconds)
    return result


def cached_forget(kind: Kind, idents: Iterable[Any], *, using: str | None = None) -> None:
    """Forget cached values now, and again once the transaction on ``using`` commits.

    The second pass covers a reader that loaded the old row just before the commit.
    """
    keys = [kind.key(ident) for ident in idents]
    if not keys:
        return
    cache.delete_many(keys)
    if using is not None:
        transaction.on_commit(lambda: cache.delete_many(keys), using=using)
