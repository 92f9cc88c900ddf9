"""The v1 success envelope and the schemas that declare it (and the errors) in OpenAPI.

An operation declares what it answers, for example::

    @router.get("/{user_id}", response={200: Envelope[UserSchema], **error_responses(404)})
    def user_detail(request, user_id: str) -> dict[str, Any]:
        return envelope(user_full(...))

and a list::

    @router.get(
        "/{user_id}/follows",
        response={200: PagedEnvelope[UserSchema], **error_responses(404)},
    )
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

import orjson
from django.http import HttpResponse
from ninja import Schema
from pydantic import Field, WithJsonSchema

DataT = TypeVar("DataT")

# Codes every operation can answer whatever it does: bad parameters or token (400) and the
# hourly limit (429). 500 and 503 are added to every operation's OpenAPI entry by openapi.py.
ALWAYS_POSSIBLE = (400, 429)


class Meta(Schema):
    """The ``meta`` object of a successful answer."""

    code: int = Field(200, examples=[200])


class ErrorMeta(Schema):
    """The ``meta`` object of an error: ``code`` equals the HTTP status."""

    code: int = Field(..., examples=[400])
    error_type: str = Field(..., examples=["APINotFoundError"])
    error_message: str = Field(..., examples=["The requested resource was not found."])


class ErrorEnvelope(Schema):
    """Every error answer of the API."""

    meta: ErrorMeta


# A dict rather than a model: v1 sends ``{}`` on the last page, and the cursor's key depends on
# the list (``next_max_id``, ``next_max_tag_id``), which a fixed set of optional fields would
# turn into nulls or drop.
Pagination = Annotated[
    dict[str, str],
    WithJsonSchema(
        {
            "type": "object",
            "description": "Empty on the last page.",
            "properties": {
                "next_url": {"type": "string", "format": "uri"},
                "next_max_id": {"type": "string"},
            },
            "additionalProperties": {"type": "string"},
        }
    ),
]


class Envelope(Schema, Generic[DataT]):
    """A successful answer carrying one object."""

    meta: Meta
    data: DataT


class PagedEnvelope(Schema, Generic[DataT]):
    """A successful answer carrying one page of a list."""

    meta: Meta
    data: list[DataT]
    pagination: Pagination


def envelope(data: Any, pagination: dict[str, str] | None = None) -> dict[str, Any]:
    """Wrap ``data`` in the success envelope; pass ``pagination`` (maybe ``{}``) for lists."""
    body: dict[str, Any] = {"meta": {"code": 200}, "data": data}
    if pagination is not None:
        body["pagination"] = pagination
    return body


def envelope_response(data: Any, pagination: dict[str, str] | None = None) -> HttpResponse:
    """Return the success envelope as an answer, encoded at once with orjson.

    For the hot lists of media objects: ninja would check every nested field of the answer
    against its schema again, which costs more than building it. The schema still documents the
    answer, and the tests check real answers against it.
    """
    return HttpResponse(
        orjson.dumps(envelope(data, pagination)), content_type="application/json; charset=utf-8"
    )


def error_responses(*codes: int) -> dict[int, type[ErrorEnvelope]]:
    """Return ``{code: ErrorEnvelope}`` for ``codes`` plus the codes every operation can give."""
    return {code: ErrorEnvelope for code in sorted({*ALWAYS_POSSIBLE, *codes})}
