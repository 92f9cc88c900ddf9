"""The primary key column of sharded tables, filled by the schema's own ``next_id()``."""

from __future__ import annotations

from typing import Any

from django.db import models


class NextId(models.Func):
    """``next_id()`` resolved in the schema the table is created in (its search_path)."""

    function = "next_id"
    template = "%(function)s()"
    output_field = models.BigIntegerField()


class ShardedIdField(models.BigIntegerField):  # type: ignore[type-arg]  # stubs' generic params
    """A bigint primary key defaulting to ``next_id()`` and read back with RETURNING."""

    db_returning = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("primary_key", True)
        kwargs.setdefault("db_default", NextId())
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        for key, default in (("primary_key", True), ("editable", False)):
            if kwargs.get(key, not default) == default:
                kwargs.pop(key, None)
        kwargs.pop("db_default", None)
        return name, path, args, kwargs
