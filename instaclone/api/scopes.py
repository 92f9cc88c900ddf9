"""Which scope each v1 operation requires, and the rule that every write route names one.

A route that changes something (POST, PUT, PATCH, DELETE) must authenticate with a ``TokenAuth``
that requires a scope besides ``basic``, which every token has: otherwise a token a person
approved for reading could act for them. ``write_scope_problems`` lists the routes that break
the rule or name a scope the OAuth server does not know; the production API refuses to build its
URLs while any does, so a new write route cannot go out without its scope.

ninja offers no public list of an API's operations; ``api_operations`` reads the bound routers,
the structure ninja's own OpenAPI generator walks, so both see the same operations and auth.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from ninja import NinjaAPI

from instaclone.api.auth import IMPLIED_SCOPE, OptionalTokenAuth, TokenAuth

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CONVERTER = re.compile(r"{[^}:]+:")


@dataclass(frozen=True)
class ApiOperation:
    """One method of one path of an API, with the auth callbacks it runs."""

    method: str
    # Relative to the API's root, with "{name}" placeholders: "/media/{media_id}".
    path: str
    auth: tuple[Any, ...]

    @property
    def is_write(self) -> bool:
        """Return whether the operation may change something."""
        return self.method in WRITE_METHODS

    @property
    def required_scopes(self) -> frozenset[str]:
        """Return the scopes every accepted token must have beyond ``basic``."""
        needed: set[str] = set()
        for auth in self.auth:
            if isinstance(auth, TokenAuth):
                needed.update(auth.scopes)
        return frozenset(needed - {IMPLIED_SCOPE})

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def api_operations(api: NinjaAPI) -> list[ApiOperation]:
    """Return every operation the API serves, in the order its routers were added."""
    found: list[ApiOperation] = []
    # Private, but the same call ninja's OpenAPI schema makes (operations bound to the API,
    # auth inherited from routers already applied); it builds and caches the routers once.
    for bound in api._get_bound_routers():
        for path, path_view in bound.path_operations.items():
            parts = (part.strip("/") for part in (bound.prefix, path))
            full = _CONVERTER.sub("{", "/" + "/".join(part for part in parts if part))
            for operation in path_view.operations:
                found.extend(
                    ApiOperation(method=method, path=full, auth=tuple(operation.auth_callbacks))
                    for method in operation.methods
                )
    return found


def write_scope_problems(api: NinjaAPI, *, known_scopes: Collection[str]) -> list[str]:
    """Return why each write route fails the scope rule, and each scope name not in settings."""
    problems: list[str] = []
    for operation in api_operations(api):
        for auth in operation.auth:
            unknown = [s for s in getattr(auth, "scopes", ()) if s not in known_scopes]
            if unknown:
                problems.append(f"{operation} names unknown scope(s): {', '.join(unknown)}")
        if not operation.is_write:
            continue
        scoped = bool(operation.auth) and all(
            isinstance(auth, TokenAuth)
            and not isinstance(auth, OptionalTokenAuth)
            and set(auth.scopes) - {IMPLIED_SCOPE}
            for auth in operation.auth
        )
        if not scoped:
            choices = ", ".join(sorted(set(known_scopes) - {IMPLIED_SCOPE}))
            problems.append(
                f"{operation} changes data but requires no scope beyond {IMPLIED_SCOPE}: give it "
                f"auth=TokenAuth(scopes=(...)) with one of {choices}"
            )
    return problems
