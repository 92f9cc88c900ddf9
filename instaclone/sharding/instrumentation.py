"""Count the statements sent to each database, on every thread that runs them.

Django's ``execute_wrapper`` hooks one connection of one thread; multi-shard reads also run on
the shard pool's threads, so observers registered here are installed there too.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from django.db import connections

ExecuteWrapper = Callable[..., Any]

_lock = threading.Lock()
_observers: list[tuple[str, ExecuteWrapper]] = []


def observers_for(alias: str) -> list[ExecuteWrapper]:
    """Return the wrappers registered for an alias."""
    with _lock:
        return [wrapper for name, wrapper in _observers if name == alias]


@contextmanager
def installed(alias: str) -> Iterator[None]:
    """Install the registered observers on this thread's connection to ``alias``."""
    with ExitStack() as stack:
        for wrapper in observers_for(alias):
            stack.enter_context(connections[alias].execute_wrapper(wrapper))
        yield


@contextmanager
def count_queries() -> Iterator[Counter[str]]:
    """Count statements per database alias, on this thread and on the shard pool's threads."""
    counts: Counter[str] = Counter()
    registered: list[tuple[str, ExecuteWrapper]] = []
    for alias in connections:

        def wrapper(
            execute: Callable[..., Any],
            sql: str,
            params: Any,
            many: bool,
            context: Any,
            alias: str = alias,
        ) -> Any:
            with _lock:
                counts[alias] += 1
            return execute(sql, params, many, context)

        registered.append((alias, wrapper))
    with _lock:
        _observers.extend(registered)
    try:
        with ExitStack() as stack:
            for alias, wrapper in registered:
                stack.enter_context(connections[alias].execute_wrapper(wrapper))
            yield counts
    finally:
        with _lock:
            for item in registered:
                _observers.remove(item)
