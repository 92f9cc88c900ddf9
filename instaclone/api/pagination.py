"""Cursor pagination by ID, as v1 did it: ``count``, ``max_id`` / ``min_id``, ``next_url``.

IDs sort by time, so "older than the last one shown" is ``id < max_id``; both cursors are
exclusive. A view declares the query parameters and pages its rows::

    def follows(request, user_id: str, page: Query[PageQuery]) -> dict[str, Any]:
        params = page.params()
        rows = follows_for_user(user_id=..., max_id=params.max_id, min_id=params.min_id,
                                limit=params.count + 1)          # newest first
        shown, pagination = paginate(request, rows, params)
        return envelope([user_short(u) for u in shown], pagination)

Tag media uses ``TagPageQuery`` (``max_tag_id`` / ``min_tag_id`` / ``next_max_tag_id``); other
names come from ``page_query(names=CursorNames(...), model_name=...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from django.http import HttpRequest
from ninja import Schema
from pydantic import Field, PrivateAttr, create_model, model_validator

from instaclone.api.params import parse_id

DEFAULT_COUNT = 20
MAX_COUNT = 100
RowT = TypeVar("RowT")


@dataclass(frozen=True)
class CursorNames:
    """The query parameters and pagination key one kind of list uses."""

    max_param: str = "max_id"
    min_param: str = "min_id"
    next_key: str = "next_max_id"


@dataclass(frozen=True)
class PageParams:
    """A validated page request: ``count`` rows below ``max_id`` and above ``min_id``."""

    count: int
    max_id: int | None
    min_id: int | None
    names: CursorNames = CursorNames()


class BasePageQuery(Schema):
    """Query parameters of a paged list; subclasses name the cursors (see ``page_query``)."""

    cursor_names: ClassVar[CursorNames] = CursorNames()
    count: int | None = Field(
        None, ge=1, description=f"Rows per page, 1 to {MAX_COUNT} (larger values are capped)."
    )
    _params: PageParams | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _parse_cursors(self) -> BasePageQuery:
        # Raising the API's own error here answers junk cursors with 400 before the view runs.
        names = self.cursor_names
        max_raw = getattr(self, names.max_param)
        min_raw = getattr(self, names.min_param)
        self._params = PageParams(
            count=min(self.count or DEFAULT_COUNT, MAX_COUNT),
            max_id=parse_id(max_raw, name=names.max_param, media_form=True) if max_raw else None,
            min_id=parse_id(min_raw, name=names.min_param, media_form=True) if min_raw else None,
            names=names,
        )
        return self

    def params(self) -> PageParams:
        """Return the validated page request."""
        assert self._params is not None  # set by the validator on construction
        return self._params


_CURSOR = "IDs are 64-bit integers sent as strings."
_OLDER = f"Return rows older than this (exclusive). {_CURSOR}"
_NEWER = f"Return rows newer than this (exclusive). {_CURSOR}"


class PageQuery(BasePageQuery):
    """``count``, ``max_id``, ``min_id``: the cursors of most lists."""

    max_id: str | None = Field(None, description=_OLDER)
    min_id: str | None = Field(None, description=_NEWER)


class TagPageQuery(BasePageQuery):
    """``count``, ``max_tag_id``, ``min_tag_id``: the cursors of a tag's media."""

    cursor_names = CursorNames(
        max_param="max_tag_id", min_param="min_tag_id", next_key="next_max_tag_id"
    )
    max_tag_id: str | None = Field(None, description=_OLDER)
    min_tag_id: str | None = Field(None, description=_NEWER)


def page_query(*, names: CursorNames, model_name: str) -> type[BasePageQuery]:
    """Return a query schema whose cursor parameters are named by ``names``."""
    fields: dict[str, Any] = {
        names.max_param: (str | None, Field(None, description=_OLDER)),
        names.min_param: (str | None, Field(None, description=_NEWER)),
    }
    query: type[BasePageQuery] = create_model(model_name, __base__=BasePageQuery, **fields)
    query.cursor_names = names
    return query


def _row_id(row: Any) -> int | str:
    return row["id"] if isinstance(row, dict) else row.id  # type: ignore[no-any-return]


def paginate(
    request: HttpRequest,
    rows: Sequence[RowT],
    params: PageParams,
    *,
    cursor: Callable[[RowT], int | str] = _row_id,
) -> tuple[list[RowT], dict[str, str]]:
    """Return the page to show and its ``pagination`` object.

    ``rows`` are newest first, fetched with ``params.count + 1`` so one extra row tells whether
    a next page exists; ``cursor`` gives a row's ID (``row.id`` or ``row["id"]`` by default).
    """
    shown = list(rows[: params.count])
    if len(rows) <= params.count or not shown:
        return shown, {}
    last = str(cursor(shown[-1]))
    return shown, {
        "next_url": next_url(request, {params.names.max_param: last}),
        params.names.next_key: last,
    }


def next_url(request: HttpRequest, replace: dict[str, str]) -> str:
    """Return this request's absolute URL with the query parameters in ``replace`` set.

    Every other parameter stays, ``access_token`` too when it came in the query; a token sent
    in the Authorization header is never written into a URL. Behind nginx the scheme and host
    are those the client used (X-Forwarded-Proto / X-Forwarded-Host).
    """
    query = request.GET.copy()
    for name, value in replace.items():
        query[name] = value
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
