"""OpenAPI links: which operation an answer's IDs feed, so clients and fuzzers can follow them.

Each entry names a source operation (its 200 answer) and the operations its fields feed, by
method and path; openapi.py resolves those to operationIds when it writes the document, and
leaves out any link whose operation the API does not have (a test API mounts only some routers).
"""

from __future__ import annotations

import re
from typing import Any

Operation = tuple[str, str]
# (target operation, {its parameter: runtime expression}) for one source operation.
LinkTargets = tuple[tuple[Operation, dict[str, str]], ...]

_MEDIA = "/v1/media/{media_id}"
_USER = "/v1/users/{user_id}"
_ONE_MEDIA = "$response.body#/data/id"
_FIRST_MEDIA = "$response.body#/data/0/id"


def _media_targets(expression: str) -> LinkTargets:
    """Return what a media ID feeds: the photo, its likes and comments, its deletion."""
    return (
        (("GET", _MEDIA), {"media_id": expression}),
        (("DELETE", _MEDIA), {"media_id": expression}),
        (("GET", f"{_MEDIA}/likes"), {"media_id": expression}),
        (("POST", f"{_MEDIA}/likes"), {"media_id": expression}),
        (("DELETE", f"{_MEDIA}/likes"), {"media_id": expression}),
        (("GET", f"{_MEDIA}/comments"), {"media_id": expression}),
        (("POST", f"{_MEDIA}/comments"), {"media_id": expression}),
    )


def _user_targets(expression: str) -> LinkTargets:
    """Return what a user ID feeds: the profile, its lists, and the relationship with it."""
    return (
        (("GET", _USER), {"user_id": expression}),
        (("GET", f"{_USER}/follows"), {"user_id": expression}),
        (("GET", f"{_USER}/followed-by"), {"user_id": expression}),
        (("GET", f"{_USER}/media/recent"), {"user_id": expression}),
        (("GET", f"{_USER}/relationship"), {"user_id": expression}),
        (("POST", f"{_USER}/relationship"), {"user_id": expression}),
    )


LINKS: dict[Operation, LinkTargets] = {
    ("POST", "/v1/media/upload"): _media_targets(_ONE_MEDIA)
    + _user_targets("$response.body#/data/user/id"),
    ("GET", _MEDIA): _media_targets(_ONE_MEDIA) + _user_targets("$response.body#/data/user/id"),
    ("POST", f"{_MEDIA}/comments"): (
        (
            ("DELETE", f"{_MEDIA}/comments/{{comment_id}}"),
            {"media_id": "$request.path.media_id", "comment_id": "$response.body#/data/id"},
        ),
    ),
    ("GET", f"{_MEDIA}/comments"): (
        (
            ("DELETE", f"{_MEDIA}/comments/{{comment_id}}"),
            {"media_id": "$request.path.media_id", "comment_id": _FIRST_MEDIA},
        ),
        (("GET", _USER), {"user_id": "$response.body#/data/0/from/id"}),
    ),
    ("GET", f"{_MEDIA}/likes"): _user_targets(_FIRST_MEDIA),
    ("GET", _USER): _user_targets("$response.body#/data/id"),
    ("GET", "/v1/users/search"): _user_targets(_FIRST_MEDIA),
    ("GET", f"{_USER}/follows"): _user_targets(_FIRST_MEDIA),
    ("GET", f"{_USER}/followed-by"): _user_targets(_FIRST_MEDIA),
    ("GET", "/v1/users/self/requested-by"): _user_targets(_FIRST_MEDIA),
    ("GET", f"{_USER}/media/recent"): _media_targets(_FIRST_MEDIA),
    ("GET", "/v1/users/self/media/liked"): _media_targets(_FIRST_MEDIA),
    ("GET", "/v1/users/self/feed"): _media_targets(_FIRST_MEDIA),
    ("GET", "/v1/media/popular"): _media_targets(_FIRST_MEDIA),
    ("GET", "/v1/tags/search"): (
        (("GET", "/v1/tags/{name}"), {"name": "$response.body#/data/0/name"}),
        (("GET", "/v1/tags/{name}/media/recent"), {"name": "$response.body#/data/0/name"}),
    ),
    ("GET", "/v1/tags/{name}/media/recent"): _media_targets(_FIRST_MEDIA),
}


def _link_name(method: str, path: str) -> str:
    """Return a link's name: ``GET /v1/media/{media_id}/likes`` is ``GetMediaMediaIdLikes``."""
    words = re.findall(r"[A-Za-z0-9]+", path.removeprefix("/v1"))
    return method.capitalize() + "".join(word.capitalize() for word in words)


def link_objects(
    links: dict[Operation, LinkTargets], operation_ids: dict[Operation, str]
) -> dict[Operation, dict[str, Any]]:
    """Return each source operation's OpenAPI ``links`` object, for the operations that exist."""
    documented: dict[Operation, dict[str, Any]] = {}
    for source, targets in links.items():
        objects = {
            _link_name(method, path): {
                "operationId": operation_ids[(method, path)],
                "parameters": parameters,
            }
            for (method, path), parameters in targets
            if (method, path) in operation_ids
        }
        if objects:
            documented[source] = objects
    return documented
