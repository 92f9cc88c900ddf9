"""The database router: users-database models go to ``default``, sharded ones to their shard."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import models

from instaclone.sharding.connections import active_target
from instaclone.sharding.placement import placement_of
from instaclone.sharding.topology import USERS_ALIAS

_migrating_shards: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "instaclone_migrating_shards", default=False
)


@contextmanager
def migrating_shard_schemas() -> Iterator[None]:
    """Let sharded models migrate on shard servers (only the schema command does this)."""
    token = _migrating_shards.set(True)
    try:
        yield
    finally:
        _migrating_shards.reset(token)


class ShardRouter:
    """Route each model by its declared placement; never guess."""

    def db_for_read(self, model: type[models.Model], **hints: Any) -> str:
        if placement_of(model) == "users":
            return USERS_ALIAS
        return active_target().alias

    def db_for_write(self, model: type[models.Model], **hints: Any) -> str:
        return self.db_for_read(model, **hints)

    def allow_relation(self, obj1: models.Model, obj2: models.Model, **hints: Any) -> bool:
        # _meta.model, not type(): request.user arrives wrapped in a lazy proxy.
        placements = {placement_of(obj1._meta.model), placement_of(obj2._meta.model)}
        return placements == {"users"} or obj1._state.db == obj2._state.db

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool:
        if hints.get("sharded"):
            # RunSQL/RunPython in a sharded app that marks itself as per-shard.
            return db != USERS_ALIAS and _migrating_shards.get()
        historical = hints.get("model")
        if historical is not None:
            model_name = historical._meta.model_name
        # Migrations hand over historical models, which lack the placement declaration.
        model = _current_model(app_label, model_name) if model_name else None
        if model is None:
            # RunSQL/RunPython without a model, or a deleted model: the users database.
            return db == USERS_ALIAS and not _migrating_shards.get()
        if placement_of(model) == "sharded":
            return db != USERS_ALIAS and _migrating_shards.get()
        return db == USERS_ALIAS and not _migrating_shards.get()


def _current_model(app_label: str, model_name: str) -> type[models.Model] | None:
    from django.apps import apps

    try:
        return apps.get_model(app_label, model_name)
    except LookupError:
        return None
